// Drives Connect+'s MCP servers with the official TypeScript SDK, as Claude
// Desktop and IDE clients do: `connectplus mcp` over stdio and the server's
// /mcp over streamable HTTP. Run by cli/mcpcmd's TestNodeSDK, which starts
// both and passes, in the environment:
//   CP_BIN, CP_DATA_DIR     the binary and the server's data directory
//   CP_URL                  the running server's base URL
//   CP_EDITOR, CP_VIEWER, CP_ORG_B   API tokens (org A editor and viewer, org B admin)
// Exits non-zero, printing why, on the first failed check.
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};

async function stdio(token) {
  const client = new Client({ name: "node-test", version: "1.0.0" });
  await client.connect(new StdioClientTransport({
    command: env("CP_BIN"),
    args: ["mcp", "--data-dir", env("CP_DATA_DIR")],
    env: { PATH: process.env.PATH ?? "", CONNECTPLUS_TOKEN: token },
    stderr: "inherit",
  }));
  return client;
}

async function http(token) {
  const client = new Client({ name: "node-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL("/mcp", env("CP_URL")), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  }));
  return client;
}

const text = (res) => res.content.filter((c) => c.type === "text").map((c) => c.text).join("");

async function exercise(kind, connect) {
  const ed = await connect(env("CP_EDITOR"));
  assert.equal(ed.getServerVersion()?.name, "connectplus", `${kind}: server name`);
  const { tools } = await ed.listTools();
  const names = tools.map((t) => t.name).sort();
  for (const want of ["create_draft", "describe_block", "get_dataflow", "list_templates", "preview", "update_draft", "validate"]) {
    assert.ok(names.includes(want), `${kind}: ${want} missing from ${names}`);
  }
  const tpl = await ed.callTool({ name: "describe_template", arguments: { name: "bulk_add_customers" } });
  assert.ok(!tpl.isError, `${kind}: describe_template: ${text(tpl)}`);
  const name = `node_${kind}`;
  const created = await ed.callTool({ name: "create_draft", arguments: { template: "bulk_add_customers", parameters: { name } } });
  assert.ok(!created.isError, `${kind}: create_draft: ${text(created)}`);
  assert.equal(created.structuredContent.saved, true);
  assert.equal(created.structuredContent.state, "Draft");
  const flowId = created.structuredContent.flowId;
  const v = await ed.callTool({ name: "validate", arguments: { flowId } });
  assert.equal(v.structuredContent.valid, true, `${kind}: validate: ${text(v)}`);
  const p = await ed.callTool({ name: "preview", arguments: { flowId, sample: tpl.structuredContent.sample, maxRecords: 3 } });
  assert.equal(p.structuredContent.ran, true, `${kind}: preview: ${text(p)}`);
  await ed.close();

  const viewer = await connect(env("CP_VIEWER"));
  const denied = await viewer.callTool({ name: "create_draft", arguments: { template: "add_customer", parameters: { name: `${name}_viewer` } } });
  assert.ok(denied.isError && /editor role/.test(text(denied)), `${kind}: a viewer created a Draft: ${text(denied)}`);
  await viewer.close();

  const orgB = await connect(env("CP_ORG_B"));
  const hidden = await orgB.callTool({ name: "get_dataflow", arguments: { flowId } });
  assert.ok(hidden.isError && /^not found/.test(text(hidden)), `${kind}: org B read org A: ${text(hidden)}`);
  await orgB.close();
  console.log(`${kind}: ok (${names.length} tools, Draft ${flowId})`);
}

try {
  await exercise("stdio", stdio);
  await exercise("http", http);
} catch (err) {
  console.error(err?.stack ?? String(err));
  process.exit(1);
}
