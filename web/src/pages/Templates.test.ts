import { describe, expect, it } from 'vitest';
import { count, defaultValues, matchTemplate, paramValues, type Template } from './Templates';

const t: Template = {
  name: 'transaction_v2_add',
  label: 'Transaction V2 add',
  category: 'Data Ingestion',
  description: 'Posts transactions.\nMore.',
  destination: 'POST /v2/transactions/bulk',
  blocks: ['sftp_read', 'jslt_transform', 'http_write'],
  parameters: [
    { name: 'sftpPort', label: 'Port', type: 'integer', default: '22', required: true },
    { name: 'decryptEnabled', label: 'Decrypt files', type: 'boolean' },
    { name: 'clientSecret', label: 'Client secret', type: 'string', default: 'capillary_client_secret', secret: true },
    { name: 'fingerprint', label: 'Fingerprint', type: 'string' },
  ],
};

describe('template gallery', () => {
  it('matches every word of the search in label, name, category, destination or blocks', () => {
    expect(matchTemplate(t, '')).toBe(true);
    expect(matchTemplate(t, 'transaction v2')).toBe(true);
    expect(matchTemplate(t, 'TRANSACTIONS/BULK')).toBe(true);
    expect(matchTemplate(t, 'ingestion jslt')).toBe(true);
    expect(matchTemplate(t, 'transaction badges')).toBe(false);
  });
  it('starts the form from the defaults, booleans off', () => {
    expect(defaultValues(t.parameters)).toEqual({ sftpPort: '22', decryptEnabled: 'false', clientSecret: 'capillary_client_secret', fingerprint: '' });
  });
  it('reads preview counts in either spelling', () => {
    expect(count({ In: 8, Delivered: 4 }, 'delivered')).toBe(4);
    expect(count({ in: 3 }, 'in')).toBe(3);
    expect(count({}, 'failed')).toBe(0);
  });
  it('sends only the values that are set', () => {
    expect(paramValues({ sftpPort: '2222', fingerprint: '', decryptEnabled: 'false' })).toEqual({ sftpPort: '2222', decryptEnabled: 'false' });
  });
});
