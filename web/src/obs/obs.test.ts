import { describe, expect, it } from 'vitest';
import { fmtDuration, fmtPct, fmtSeconds, parseGoDuration, toGoMinutes, fmtCount, fmtRate } from './format';
import { isoToLocal, localToISO, windowError, windowMs, windowQuery, type Win } from './window';

describe('window', () => {
  it('turns a preset into window=', () => {
    expect(windowQuery({ kind: 'preset', value: '24h' })).toBe('window=24h');
    expect(windowQuery({ kind: 'preset', value: '720h' })).toBe('window=720h');
    expect(windowMs({ kind: 'preset', value: '168h' })).toBe(7 * 86400 * 1000);
  });
  it('turns a custom range into RFC 3339 from and to', () => {
    const from = new Date(2026, 0, 2, 10, 30);
    const to = new Date(2026, 0, 3, 10, 30);
    const w: Win = { kind: 'custom', from: isoToLocal(from), to: isoToLocal(to) };
    expect(windowError(w)).toBeNull();
    const q = new URLSearchParams(windowQuery(w));
    expect(q.get('from')).toBe(from.toISOString().replace('.000Z', 'Z'));
    expect(q.get('to')).toBe(to.toISOString().replace('.000Z', 'Z'));
    expect(q.has('window')).toBe(false);
    expect(windowMs(w)).toBe(86400 * 1000);
  });
  it('leaves out to when the range runs to now', () => {
    const w: Win = { kind: 'custom', from: isoToLocal(new Date(Date.now() - 3600e3)), to: '' };
    expect(windowError(w)).toBeNull();
    expect(new URLSearchParams(windowQuery(w)).has('to')).toBe(false);
  });
  it('refuses ranges the server refuses', () => {
    expect(windowError({ kind: 'custom', from: '', to: '' })).toMatch(/start/);
    expect(windowError({ kind: 'custom', from: '2026-01-03T00:00', to: '2026-01-02T00:00' })).toMatch(/ends before/);
    expect(windowError({ kind: 'custom', from: '2026-01-01T00:00', to: '2026-02-15T00:00' })).toMatch(/30 days/);
    expect(windowError({ kind: 'custom', from: '2026-01-01T00:00', to: '2026-01-31T00:00' })).toBeNull();
  });
  it('reads datetime-local values as local time', () => {
    expect(localToISO('garbage')).toBeNull();
    const d = new Date(2026, 5, 1, 8, 5);
    expect(isoToLocal(d)).toBe('2026-06-01T08:05');
    expect(localToISO('2026-06-01T08:05')).toBe(d.toISOString().replace('.000Z', 'Z'));
  });
});

describe('format', () => {
  it('shows no input as a dash, not 0 %', () => {
    expect(fmtPct(null)).toBe('—');
    expect(fmtPct(0)).toBe('0.0 %');
    expect(fmtPct(0.04)).toBe('< 0.1 %');
    expect(fmtPct(12.345)).toBe('12.3 %');
  });
  it('shows latencies in ms below a second', () => {
    expect(fmtSeconds(null)).toBe('—');
    expect(fmtSeconds(0.109)).toBe('109 ms');
    expect(fmtSeconds(0.0505)).toBe('50.5 ms');
    expect(fmtSeconds(0.0012)).toBe('1.20 ms');
    expect(fmtSeconds(2.5)).toBe('2.50 s');
    expect(fmtSeconds(65.5)).toBe('65.5 s');
  });
  it('counts and rates', () => {
    expect(fmtCount(1234567)).toBe('1,234,567');
    expect(fmtCount(undefined)).toBe('—');
    expect(fmtRate(0.208)).toBe('0.21');
    expect(fmtRate(0)).toBe('0');
    expect(fmtRate(1500)).toBe('1,500');
  });
  it('reads and writes Go durations', () => {
    expect(parseGoDuration('10m0s')).toBe(600);
    expect(parseGoDuration('1h0m0s')).toBe(3600);
    expect(parseGoDuration('1h30m')).toBe(5400);
    expect(parseGoDuration('0s')).toBe(0);
    expect(parseGoDuration('500ms')).toBe(0.5);
    expect(parseGoDuration('ten')).toBeNull();
    expect(parseGoDuration('10x')).toBeNull();
    expect(fmtDuration('10m0s')).toBe('10 min');
    expect(fmtDuration('24h0m0s')).toBe('1 d');
    expect(fmtDuration('1h30m0s')).toBe('1 h 30 min');
    expect(fmtDuration('0s')).toBe('never');
    expect(toGoMinutes(90)).toBe('1h30m');
    expect(toGoMinutes(10)).toBe('10m');
    expect(toGoMinutes(120)).toBe('2h');
    expect(toGoMinutes(0)).toBe('0s');
  });
});
