import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, Client, describe as describeError } from './client';

interface Call {
  url: string;
  init: RequestInit;
}

function fakeFetch(status: number, body: unknown, headers: Record<string, string> = {}) {
  const calls: Call[] = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
  });
  return calls;
}

afterEach(() => vi.unstubAllGlobals());

describe('API client', () => {
  it('sends the CSRF token on every non-GET call, not on GETs, under /api/v1', async () => {
    const c = new Client();
    c.setCsrf('tok');
    const calls = fakeFetch(200, { ok: true });
    await c.get('/dataflows');
    await c.post('/dataflows', { name: 'x' });
    await c.put('/dataflows/f/versions/1', {}, { 'If-Match': '"r3"' });
    await c.del('/tokens/t');
    expect(calls.map((x) => [x.init.method, x.url])).toEqual([
      ['GET', '/api/v1/dataflows'],
      ['POST', '/api/v1/dataflows'],
      ['PUT', '/api/v1/dataflows/f/versions/1'],
      ['DELETE', '/api/v1/tokens/t'],
    ]);
    const h = calls.map((x) => x.init.headers as Record<string, string>);
    expect(h[0]['X-CSRF-Token']).toBeUndefined();
    expect(h[1]['X-CSRF-Token']).toBe('tok');
    expect(h[2]['X-CSRF-Token']).toBe('tok');
    expect(h[2]['If-Match']).toBe('"r3"');
    expect(h[3]['X-CSRF-Token']).toBe('tok');
    expect(calls[1].init.body).toBe('{"name":"x"}');
    expect(calls[1].init.credentials).toBe('same-origin');
  });

  it('turns an error answer into an ApiError with the message, code, fields and request id', async () => {
    const c = new Client();
    fakeFetch(400, { error: { code: 'validation_failed', message: 'bad document', fields: [{ path: 'blocks[0].type', message: 'unknown' }] } }, { 'X-Request-ID': 'abc123' });
    const e = await c.post('/validate', {}).catch((x) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(400);
    expect(e.code).toBe('validation_failed');
    expect(e.message).toBe('bad document');
    expect(e.requestId).toBe('abc123');
    expect(e.fields).toEqual([{ path: 'blocks[0].type', message: 'unknown' }]);
    expect(describeError(e)).toEqual({ message: 'bad document', requestId: 'abc123' });
  });

  it('tells the app when the session is gone (401), except for the login call', async () => {
    const c = new Client();
    let n = 0;
    c.onUnauthorized(() => n++);
    fakeFetch(401, { error: { code: 'unauthenticated', message: 'authentication required' } });
    await c.get('/dataflows').catch(() => {});
    expect(n).toBe(1);
    await c.raw('POST', '/auth/login', { body: {}, noAuthRedirect: true }).catch(() => {});
    expect(n).toBe(1);
  });

  it('keeps 204 answers empty and reports an unreachable server', async () => {
    const c = new Client();
    fakeFetch(204, undefined);
    expect(await c.post('/auth/logout')).toBeUndefined();
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch');
    });
    const e = await c.get('/auth/me').catch((x) => x);
    expect(e.code).toBe('network');
    expect(e.message).toMatch(/could not be reached/);
  });
});
