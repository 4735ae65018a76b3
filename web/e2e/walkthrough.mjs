// Issue 17's "Done means" as one walkthrough, in a browser, against
// `connectplus demo` (TestObsWalkthrough in e2e/walkthrough_test.go starts
// it with --smtp pointing at mailpit and --alert-interval 5s):
//
//  1. a newcomer signs in and schedules a daily summary report for the
//     coming minute (received at the end);
//  2. watches the System Snapshot tiles, the dataflow list's figures and
//     the Performance charts move while the demo dataflow runs a dropped
//     file;
//  3. creates a Slack channel and an email channel, then a custom alert on
//     that dataflow's API (filtered to the endpoint it calls), from the UI;
//  4. breaks the API sandbox on purpose (every call answers 500) and drops
//     another file;
//  5. receives the alert email in mailpit (the §6.6 fields) and a Slack
//     Block Kit message on a loopback incoming webhook;
//  6. acknowledges and closes the issue on the Issues page (both notified
//     to Slack), with the sandbox healthy again;
//  7. receives the daily summary report, with its CSV, when its time passes.
//
//   CP_URL=… CP_PASSWORD=… CP_OUT=/tmp/shots CP_MAILPIT=http://127.0.0.1:8025 \
//   CP_FILES=<demo files dir> CP_SANDBOX=<demo API sandbox URL> node e2e/walkthrough.mjs
//
// Every step must pass: the first failure stops the walkthrough (exit 1)
// with a screenshot of the page it was on.
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

const env = (k) => {
  const v = (process.env[k] ?? '').replace(/\/$/, '');
  if (!v) {
    console.error(`${k} is required`);
    process.exit(2);
  }
  return v;
};
const URL = env('CP_URL');
const PW = env('CP_PASSWORD');
const MAILPIT = env('CP_MAILPIT');
const FILES = env('CP_FILES');
const SANDBOX = env('CP_SANDBOX');
const OUT = process.env.CP_OUT ?? 'e2e-out';
mkdirSync(OUT, { recursive: true });

const FLOW = 'bulk_add_customers';
const stamp = Date.now().toString(36);
const t0 = Date.now();
const browser = await chromium.launch({
  executablePath: process.env.CP_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
let shot = 0;
let current = null;

async function snap(page, name) {
  shot++;
  await page.screenshot({ path: join(OUT, `w${String(shot).padStart(2, '0')}-${name}.png`) });
}

async function step(name, fn) {
  const s = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - s} ms)`);
  } catch (e) {
    console.log(`FAIL ${name}: ${String(e.message).split('\n').slice(0, 8).join('\n     ')}`);
    if (current) await snap(current, 'FAILED').catch(() => {});
    await browser.close();
    receiver.close();
    process.exit(1);
  }
}

function expect(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function waitFor(what, fn, ms = 60000) {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - start > ms) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** api calls the API from the page, with its session and CSRF token. */
async function api(page, method, path, body) {
  const r = await page.evaluate(
    async ({ method, path, body }) => {
      const m = document.cookie.match(/(?:^|;\s*)cp_csrf=([^;]+)/);
      const r = await fetch('/api/v1' + path, {
        method,
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': m ? decodeURIComponent(m[1]) : '' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: r.status, body: await r.text() };
    },
    { method, path, body },
  );
  expect(r.status < 300, `${method} ${path}: ${r.status} ${r.body.slice(0, 300)}`);
  return r.body ? JSON.parse(r.body) : null;
}

async function login(page, user) {
  await page.goto(URL + '/');
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(PW);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Dataflows', level: 1 }).waitFor();
}

async function mails(query) {
  const r = await fetch(`${MAILPIT}/api/v1/search?query=${encodeURIComponent(query)}`);
  return (await r.json()).messages ?? [];
}
const mailGet = async (path) => (await fetch(`${MAILPIT}/api/v1/message/${path}`)).json();

// A file for the demo dataflow (unique identifiers: the sandbox refuses a
// customer it already has), written whole then renamed into its folder.
function dropFile(name, rows) {
  const lines = ['firstname,lastname,value,source,loyaltyType,identifierType'];
  for (let i = 0; i < rows; i++) lines.push(`Walk${i},Through,walk-${stamp}-${name}-${i}@example.com,INSTORE,loyalty,email`);
  const tmp = join(FILES, 'customers', `.${name}.tmp`);
  writeFileSync(tmp, lines.join('\n') + '\n');
  renameSync(tmp, join(FILES, 'customers', 'in', `${name}.csv`));
}

// The Slack incoming webhook: a loopback receiver (the demo allows private
// targets) keeping every message it is posted.
const slack = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    slack.push({ path: req.url, headers: req.headers, body });
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('ok');
  });
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
const slackURL = `http://127.0.0.1:${receiver.address().port}/services/T0WALK/B0WALK/${stamp}`;
const slackSecret = `walk_slack_url_${stamp}`;
const slackName = `walk slack ${stamp}`;
const mailName = `walk mail ${stamp}`;
const opsTo = `ops-walk-${stamp}@example.com`;
const leadTo = `lead-walk-${stamp}@example.com`;
const ruleName = `walk ${FLOW} 5xx ${stamp}`;
const reportName = `walk daily ${stamp}`;

/** slackMsgs are the Block Kit messages about an issue for one event. */
function slackMsgs(issueId, event) {
  return slack
    .map((m) => ({ ...m, json: JSON.parse(m.body) }))
    .filter((m) => m.body.includes(issueId) && m.json.blocks.some((b) => b.type === 'context' && b.elements.some((e) => e.text.includes(`· ${event} ·`))));
}

const home = await ctx.newPage();
const perf = await ctx.newPage();
current = home;
let flowId = '';
let tz = 'UTC';

// The dataflow list's "Units today" of the demo dataflow (its first figure column).
const listUnits = async () =>
  Number((await home.locator(`table[aria-label="Dataflows"] tbody tr:has(a:text-is("${FLOW}")) td.num`).first().innerText()).replace(/[^\d]/g, '')) || 0;
const tileNum = async () => Number((await home.locator('section[aria-labelledby="snapshot-h"] [data-tile="processed"]').innerText()).replace(/[^\d]/g, ''));
// The Records chart's data table (its accessible alternative): records in, summed.
const chartIn = async () =>
  perf.evaluate(() => {
    const t = document.querySelector('table[aria-label="Records data"]');
    if (!t) return -1;
    return [...t.querySelectorAll('tbody tr')].reduce((n, tr) => n + (Number((tr.children[1]?.textContent ?? '').replace(/[^\d.]/g, '')) || 0), 0);
  });

let reportAt = '';
let reportEnd = new Date(0);
await step('1. signs in and schedules a daily summary report for the coming minute (organisation time zone)', async () => {
  await login(home, 'admin');
  tz = (await api(home, 'GET', '/org')).timeZone || 'UTC';
  flowId = (await api(home, 'GET', '/dataflows?name=' + FLOW)).items.find((f) => f.name === FLOW).id;
  // The next minute boundary at least 25 s away, as HH:MM in the
  // organisation's time zone: the report's daily period ends then.
  const at = new Date(Math.ceil((Date.now() + 25000) / 60000) * 60000);
  reportEnd = at;
  reportAt = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(at);
  await home.goto(URL + '/reports');
  await home.getByRole('heading', { name: 'Reports', level: 1 }).waitFor();
  await home.getByRole('button', { name: 'New summary report' }).click();
  const dlg = home.getByRole('dialog', { name: 'New summary report' });
  await dlg.getByLabel(/^Name/).fill(reportName);
  await dlg.getByLabel(/^Recipients/).fill(leadTo);
  await dlg.getByLabel('Daily at').check();
  await dlg.getByLabel(/^Time of day/).fill(reportAt);
  await dlg.getByRole('button', { name: 'Schedule the report' }).click();
  await dlg.waitFor({ state: 'detached' });
  await home.locator(`tr[data-report="${reportName}"]`).getByText(`daily at ${reportAt}`).waitFor();
  const rep = (await api(home, 'GET', '/reports')).find((x) => x.name === reportName);
  console.log(`     report created ${rep.createdAt}, daily at ${reportAt} (${tz})`);
  // A report created after its time of day waits for tomorrow's period.
  expect(new Date(rep.createdAt) < at, `the report was created after ${at.toISOString()} (the form took over 25 s)`);
  await snap(home, 'report-scheduled');
});

await step('2. the System Snapshot tiles, the list and the Performance charts move while the dataflow runs a file', async () => {
  await home.goto(URL + '/dataflows');
  // The demo ran its sample file at start: wait until the tile shows what the API has.
  const box = home.locator('section[aria-labelledby="snapshot-h"]');
  await box.getByRole('heading', { name: 'System Snapshot' }).waitFor();
  await waitFor('the tiles to show the demo run', async () => {
    const s = await api(home, 'GET', '/observability/snapshot?window=24h');
    return s.processedUnits > 0 && (await tileNum()) === s.processedUnits;
  });
  current = perf;
  await perf.goto(`${URL}/dataflows/${flowId}?tab=performance`);
  await waitFor('four charts', async () => (await perf.locator('.chart-box canvas').count()) >= 4);
  await waitFor('the charts to show the demo run', async () => (await chartIn()) > 0);
  const tile0 = await tileNum();
  const chart0 = await chartIn();
  const list0 = await listUnits();
  await snap(home, 'home-before');
  await perf.locator('section[aria-labelledby="perf-charts"]').scrollIntoViewIfNeeded();
  await snap(perf, 'performance-before');
  dropFile('walk-healthy', 20);
  await perf.getByRole('button', { name: 'Run now', exact: true }).click();
  // Neither page is reloaded: the tiles refresh every 15 s, the charts every 30 s.
  await waitFor('the processed tile to count the 20 new records', async () => (await tileNum()) >= tile0 + 20, 90000);
  await waitFor("the list's units today to count them", async () => (await listUnits()) >= list0 + 20, 60000);
  current = home;
  await snap(home, 'home-after');
  current = perf;
  await waitFor('the Records chart to count the 20 new records', async () => (await chartIn()) >= chart0 + 20, 90000);
  await perf.locator('section[aria-labelledby="perf-charts"]').scrollIntoViewIfNeeded();
  await perf.waitForTimeout(300);
  await snap(perf, 'performance-after');
  console.log(`     tile ${tile0} → ${await tileNum()}, list units today ${list0} → ${await listUnits()}, chart records in ${chart0} → ${await chartIn()}`);
});

let ruleId = '';
await step('3. creates a Slack and an email channel and a custom alert on the API the dataflow calls, from the UI', async () => {
  current = home;
  // The Slack webhook URL is a secret Extension Configuration: requested
  // by admin, approved by admin2 (maker-checker).
  const req = await api(home, 'POST', '/config-requests', { name: slackSecret, value: slackURL, isSecret: true });
  const a2 = await (await browser.newContext()).newPage();
  await login(a2, 'admin2');
  await api(a2, 'POST', `/config-requests/${req.id}/approve`, {});
  await a2.context().close();

  await home.goto(URL + '/alerts');
  await home.getByRole('heading', { name: 'Alerts', level: 1 }).waitFor();
  await home.getByRole('button', { name: 'New channel' }).click();
  let dlg = home.getByRole('dialog', { name: 'New channel' });
  await dlg.getByLabel(/^Kind/).selectOption('slack');
  await dlg.getByLabel(/^Name/).fill(slackName);
  await dlg.getByLabel(/^Secret:/).selectOption(slackSecret);
  await dlg.getByRole('button', { name: 'Create the channel' }).click();
  await dlg.waitFor({ state: 'detached' });
  await home.getByRole('button', { name: 'New channel' }).click();
  dlg = home.getByRole('dialog', { name: 'New channel' });
  await dlg.getByLabel(/^Name/).fill(mailName);
  await dlg.getByLabel(/^Recipients/).fill(opsTo);
  await dlg.getByRole('button', { name: 'Create the channel' }).click();
  await dlg.waitFor({ state: 'detached' });
  await home.locator(`tr[data-channel="${mailName}"]`).waitFor();

  // The API filter lists the APIs called in the last 7 days.
  const eps = await waitFor('the dataflow API in /alert-endpoints', async () => {
    const xs = await api(home, 'GET', '/alert-endpoints?flowId=' + flowId);
    return xs.length ? xs : null;
  });
  const endpoint = eps[0].endpoint;
  expect(endpoint.includes('/v2/customers/bulk'), 'endpoint ' + endpoint);
  await home.getByRole('button', { name: 'New alert rule' }).click();
  dlg = home.getByRole('dialog', { name: 'New alert rule' });
  await dlg.getByLabel(/^Start from/).selectOption('');
  await dlg.getByLabel(/^Name/).fill(ruleName);
  await dlg.getByLabel(/^Scope/).selectOption({ label: FLOW });
  await dlg.getByLabel(/^Metric/).selectOption('http_5xx_rate');
  await dlg.getByLabel(/^Filter by API/).selectOption(endpoint);
  await dlg.getByLabel(/^Critical threshold/).fill('30');
  await dlg.getByLabel('Window (minutes)').fill('10');
  await dlg.getByLabel(slackName).check();
  await dlg.getByLabel(mailName).check();
  await snap(home, 'alert-rule-dialog');
  await dlg.getByRole('button', { name: 'Create the rule' }).click();
  await dlg.waitFor({ state: 'detached' });
  const row = home.locator(`tr[data-rule="${ruleName}"]`);
  await row.getByText('5xx error rate ≥ 30 % (Critical) over 10 min').waitFor();
  await row.getByText(endpoint).waitFor();
  const r = (await api(home, 'GET', '/alert-rules')).find((x) => x.name === ruleName);
  ruleId = r.id;
  expect(r.flowId === flowId && r.endpoint === endpoint && r.channels.length === 2, 'rule as stored: ' + JSON.stringify(r));
  await snap(home, 'alerts');
});

let issue = null;
await step('4–5. breaks the sandbox (every call 500): the alert email arrives in mailpit and a Slack Block Kit message on the webhook', async () => {
  const r = await fetch(`${SANDBOX}/_sandbox/faults`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ global: { rate5xx: 1, codes5xx: [500] } }) });
  expect(r.ok, 'sandbox faults: ' + r.status + ' ' + (await r.text()));
  dropFile('walk-broken', 40);
  current = perf;
  await perf.getByRole('button', { name: 'Run now', exact: true }).click();
  issue = await waitFor('an Active issue of the custom rule', async () => (await api(home, 'GET', `/alert-issues?ruleId=${ruleId}&status=Active`))[0], 90000);
  expect(issue.priority === 'Critical' && issue.flowId === flowId && issue.value >= 30, 'issue: ' + JSON.stringify(issue));

  const [m] = await waitFor('the alert email in mailpit', async () => {
    const xs = await mails(`to:${opsTo}`);
    return xs.filter((x) => /5xx error rate/.test(x.Subject) && !/test/i.test(x.Subject)).length ? xs.filter((x) => /5xx error rate/.test(x.Subject)) : null;
  });
  const msg = await mailGet(m.ID);
  const hdr = await mailGet(m.ID + '/headers');
  expect(hdr['X-Connectplus-Event']?.[0] === 'opened' || hdr['X-ConnectPlus-Event']?.[0] === 'opened', 'email event header: ' + JSON.stringify(hdr).slice(0, 300));
  for (const want of ['Dataflow', FLOW, 'Lineage ID', 'Total Records', 'Failure Details', '500', 'View Dataflow in Connect+', issue.id]) {
    expect(msg.Text.includes(want), `the alert email lacks "${want}":\n${msg.Text.slice(0, 1500)}`);
  }
  const [s] = await waitFor('the Slack message', async () => {
    const xs = slackMsgs(issue.id, 'opened');
    return xs.length ? xs : null;
  });
  expect(s.path === new globalThis.URL(slackURL).pathname, 'posted to ' + s.path);
  const types = s.json.blocks.map((b) => b.type);
  expect(s.json.text === issue.title && types[0] === 'header' && types.includes('section') && types.includes('actions') && types.at(-1) === 'context', 'Block Kit shape: ' + s.body.slice(0, 400));
  const fields = s.json.blocks.find((b) => b.fields)?.fields.map((f) => f.text).join('\n') ?? '';
  expect(fields.includes(FLOW) && fields.includes('Critical'), 'Slack fields: ' + fields);
  // The Performance tab (not reloaded) shows the 5xx calls at its next refresh.
  await waitFor('the Performance tab to show the 5xx calls', async () => /[1-9]\d* 5xx\)/.test(await perf.locator('section[aria-labelledby="perf-overall"]').innerText()), 40000);
  await snap(perf, 'performance-broken');
  await waitFor('the Error rate chart to show the failures', async () => {
    const t = await perf.evaluate(() => document.querySelector('table[aria-label="Error rate data"] tbody')?.textContent ?? '');
    return /[1-9][\d.]* %/.test(t);
  }, 40000);
  await perf.locator('section[aria-labelledby="perf-charts"]').scrollIntoViewIfNeeded();
  await perf.waitForTimeout(300);
  await snap(perf, 'performance-broken-charts');
});

await step('6. acknowledges and closes the issue on the Issues page (notified to Slack), the sandbox healthy again', async () => {
  const r = await fetch(`${SANDBOX}/_sandbox/faults`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ global: {} }) });
  expect(r.ok, 'sandbox faults off: ' + r.status);
  current = home;
  await home.goto(URL + '/issues');
  await home.getByRole('heading', { name: 'Issues', level: 1 }).waitFor();
  await home.getByLabel(/^Dataflow/).selectOption({ label: FLOW });
  await home.getByLabel(/^Status/).selectOption('Active');
  const row = home.locator(`tr[data-issue="${issue.id}"]`);
  await row.waitFor();
  await snap(home, 'issue-active');
  await row.getByRole('button', { name: /^Acknowledge/ }).click();
  await home.getByLabel(/^Status/).selectOption('Acknowledged');
  await row.locator('[data-ack-by="admin"]').getByText(/^Acknowledged by/).waitFor();
  await row.getByRole('button', { name: /^Close/ }).click();
  const dlg = home.getByRole('dialog', { name: 'Close the issue' });
  await dlg.getByLabel(/^Reason/).fill('walkthrough: the sandbox was broken on purpose');
  await dlg.getByRole('button', { name: 'Close the issue' }).click();
  await dlg.waitFor({ state: 'hidden' });
  await home.getByLabel(/^Status/).selectOption('Closed');
  await row.getByText('walkthrough: the sandbox was broken on purpose').waitFor();
  await snap(home, 'issue-closed');
  const closed = await api(home, 'GET', `/alert-issues/${issue.id}`);
  expect(closed.status === 'Closed' && closed.acknowledgedBy === 'admin' && closed.closedBy === 'admin', 'issue: ' + JSON.stringify(closed));
  for (const ev of ['acknowledged', 'closed']) await waitFor(`the ${ev} Slack message`, async () => slackMsgs(issue.id, ev).length > 0, 30000);
  const acked = slackMsgs(issue.id, 'acknowledged')[0].json.blocks.find((b) => b.fields).fields.map((f) => f.text).join('\n');
  expect(acked.includes('Acknowledged by*\nadmin'), 'acknowledged message fields: ' + acked);
});

await step(`7. receives the daily summary report (its CSV lists the files of its period) once ${reportAt} passes`, async () => {
  const [m] = await waitFor(
    'the daily report in mailpit',
    async () => {
      const xs = await mails(`to:${leadTo}`);
      return xs.length ? xs : null;
    },
    120000,
  );
  const msg = await mailGet(m.ID);
  console.log(`     report received ${new Date().toISOString()} (mail dated ${msg.Date})`);
  expect(msg.Subject.includes(reportName), 'report subject: ' + msg.Subject);
  const csv = msg.Attachments.find((a) => /\.csv$/.test(a.FileName));
  expect(csv, 'no CSV attachment: ' + JSON.stringify(msg.Attachments));
  const body = await (await fetch(`${MAILPIT}/api/v1/message/${m.ID}/part/${csv.PartID}`)).text();
  expect(body.startsWith('dataflow,file,lineage_id,ingestion_time,status'), 'CSV header: ' + body.slice(0, 200));
  // The period is the 24 h up to the time of day: the dataflow's runs that
  // started before it are listed, those after it wait for tomorrow's.
  const runs = (await api(home, 'GET', `/runs?flowId=${flowId}&limit=50`)).items;
  const before = runs.filter((r) => new Date(r.started) < reportEnd && r.finished);
  expect(before.length >= 1, 'no run before the period end: ' + JSON.stringify(runs.map((r) => [r.fileName, r.started])));
  for (const r of runs) {
    const listed = body.includes(`${FLOW},${r.fileName},${r.id},`);
    expect(listed === before.includes(r), `${r.fileName} (started ${r.started}, period end ${reportEnd.toISOString()}) ${listed ? 'is' : 'is not'} in the CSV:\n${body}`);
  }
  console.log(`     the report lists ${before.map((r) => r.fileName).join(', ')}`);
  await home.goto(URL + '/reports');
  await home.locator(`tr[data-report="${reportName}"]`).waitFor();
  await snap(home, 'report-received');
});

console.log(`walkthrough complete in ${Math.round((Date.now() - t0) / 1000)} s`);
await browser.close();
receiver.close();
