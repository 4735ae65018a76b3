import { describe, expect, it } from 'vitest';
import { failedRows, guessDelimiter, parseCSV } from './csv';

describe('result file CSV', () => {
  it('parses quotes, doubled quotes, embedded newlines and CRLF', () => {
    expect(parseCSV('a,b\r\n"x, y","say ""hi"""\n"multi\nline",2\n')).toEqual([
      ['a', 'b'],
      ['x, y', 'say "hi"'],
      ['multi\nline', '2'],
    ]);
  });
  it('guesses the delimiter from the header', () => {
    expect(guessDelimiter('a;b;c\n1;2;3')).toBe(';');
    expect(guessDelimiter('a|b\n')).toBe('|');
    expect(parseCSV('a|b\n1|2')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });
  it('keeps the rows that failed', () => {
    const text = 'name,status_code,error_message,entity_id,line_number,lineage_id\nann,200,,7,2,L\nbob,400,bad mobile,,3,L\ncid,,file failed,,,L\n';
    const r = failedRows(text);
    expect(r.header[1]).toBe('status_code');
    expect(r.rows.map((x) => x[0])).toEqual(['bob', 'cid']);
  });
});
