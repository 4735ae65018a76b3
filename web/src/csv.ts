// A small RFC 4180 CSV reader for result files (quoted fields, doubled
// quotes, CRLF), with the delimiter guessed from the header line.

export function guessDelimiter(text: string): string {
  const line = text.slice(0, text.search(/\r?\n|$/));
  let best = ',';
  let bestN = -1;
  for (const d of [',', ';', '|', '\t']) {
    const n = line.split(d).length;
    if (n > bestN) {
      best = d;
      bestN = n;
    }
  }
  return best;
}

export function parseCSV(text: string, delim = guessDelimiter(text)): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') {
      quoted = true;
      i++;
    } else if (c === delim) {
      row.push(field);
      field = '';
      i++;
    } else if (c === '\n' || c === '\r') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else {
      field += c;
      i++;
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** failedRows returns the header and the rows of a result file whose outcome is not a success. */
export function failedRows(text: string): { header: string[]; rows: string[][] } {
  const all = parseCSV(text);
  const header = all[0] ?? [];
  const sc = header.indexOf('status_code');
  const em = header.indexOf('error_message');
  const rows = all.slice(1).filter((r) => {
    const code = sc >= 0 ? (r[sc] ?? '').trim() : '';
    const msg = em >= 0 ? (r[em] ?? '').trim() : '';
    if (msg) return true;
    return code !== '' && !/^2\d\d$/.test(code);
  });
  return { header, rows };
}
