// test_iceberg_rest.mjs: the Iceberg REST catalog through a real client,
// iceberg-js, against `floe serve`'s catalog port: the lifecycle on main
// (namespaces created, listed, given properties and dropped; a table
// created, loaded, evolved with set-properties, add-schema and
// set-current-schema, renamed, dropped with purge), then the same flow on
// catalog branch dev through /iceberg/v1/dev (iceberg-js's warehouse "dev"
// resolves to that prefix through GET /v1/config). The client gets its
// bearer token from /iceberg/v1/oauth/tokens with the S3 root key.

import { IcebergRestCatalog } from "iceberg-js";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { ACCESS_KEY, REGION, SECRET_KEY, Suite } from "./floe_e2e.mjs";

const t = new Suite("test_iceberg_rest.mjs");
const srv = await t.start({ extraArgs: ["--fsync", "false"] });

async function token() {
  const r = await fetch(`${srv.catalogUrl}/iceberg/v1/oauth/tokens`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: ACCESS_KEY, client_secret: SECRET_KEY }),
  });
  t.eq(200, r.status, "POST /iceberg/v1/oauth/tokens with the root key");
  return (await r.json()).access_token;
}

const bearer = await token();
const s3 = new S3Client({
  endpoint: srv.url,
  region: REGION,
  forcePathStyle: true,
  credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
});

const schema = {
  type: "struct",
  "schema-id": 0,
  fields: [
    { id: 1, name: "id", type: "long", required: true },
    { id: 2, name: "name", type: "string", required: false },
  ],
};

async function rejects(status, fn, what) {
  try {
    await fn();
    t.fail(`${what}: expected HTTP ${status}, but the call succeeded`);
  } catch (e) {
    t.check(e.status === status, what, `got ${e.status} ${e.icebergType ?? ""}: ${e.message}`);
  }
}

async function lifecycle(label, catalog, ns) {
  console.log(`# ${label}`);
  await t.attempt(() => catalog.createNamespace({ namespace: [ns] }, { properties: { owner: "e2e" } }), "create namespace");
  await t.attempt(() => catalog.createNamespace({ namespace: [ns, "sub"] }), "create a nested namespace");
  const top = await catalog.listNamespaces();
  t.check(top.namespaces.some((n) => n.namespace.join(".") === ns), "listNamespaces shows it", JSON.stringify(top));
  const kids = await catalog.listNamespaces({ parent: { namespace: [ns] } });
  t.eq([[ns, "sub"]], kids.namespaces.map((n) => n.namespace), "listNamespaces with a parent");
  t.eq(true, await catalog.namespaceExists({ namespace: [ns, "sub"] }), "namespaceExists");
  const upd = await catalog.updateNamespaceProperties({ namespace: [ns] }, { updates: { team: "data" }, removals: ["owner", "gone"] });
  t.eq({ updated: ["team"], removed: ["owner"], missing: ["gone"] }, upd, "updateNamespaceProperties");
  t.eq({ team: "data" }, (await catalog.loadNamespaceMetadata({ namespace: [ns] })).properties, "loadNamespaceMetadata");

  const id = { namespace: [ns], name: "events" };
  const created = await t.attempt(
    () => catalog.createTable({ namespace: [ns] }, { name: "events", schema, properties: { "write.format.default": "parquet" } }),
    "createTable",
  );
  t.check(created?.location?.endsWith(`/${ns}/events`), "the table lives under the warehouse", created?.location);
  const loaded = await catalog.loadTable(id);
  t.eq(created?.["table-uuid"], loaded["table-uuid"], "loadTable gives the created table");
  const res = await catalog.loadTableResult(id);
  t.check(res?.etag, "loadTableResult carries an ETag");
  t.eq(null, await catalog.loadTable(id, { ifNoneMatch: res.etag }), "loadTable with ifNoneMatch is 304 (null)");
  t.eq(true, await catalog.tableExists(id), "tableExists");

  const v2 = {
    type: "struct",
    "schema-id": 1,
    fields: [...schema.fields, { id: 3, name: "ts", type: "timestamptz", required: false }],
  };
  const committed = await t.attempt(
    () =>
      catalog.updateTable(id, {
        requirements: [
          { type: "assert-table-uuid", uuid: loaded["table-uuid"] },
          { type: "assert-current-schema-id", "current-schema-id": 0 },
        ],
        updates: [
          { action: "set-properties", updates: { "commit.retry.num-retries": "5" } },
          { action: "add-schema", schema: v2, "last-column-id": 3 },
          { action: "set-current-schema", "schema-id": -1 },
        ],
      }),
    "updateTable: set-properties, add-schema, set-current-schema",
  );
  const after = await catalog.loadTable(id);
  t.eq(1, after["current-schema-id"], "the new schema is current");
  t.eq("5", after.properties?.["commit.retry.num-retries"], "the property is set");
  t.check(committed?.["metadata-location"]?.includes("/metadata/00001-"), "the commit wrote metadata version 1");
  await rejects(
    409,
    () =>
      catalog.updateTable(id, {
        requirements: [{ type: "assert-current-schema-id", "current-schema-id": 0 }],
        updates: [{ action: "set-properties", updates: { late: "1" } }],
      }),
    "a stale requirement is 409",
  );

  const moved = { namespace: [ns, "sub"], name: "events_v2" };
  await t.attempt(() => catalog.renameTable({ source: id, destination: moved }), "renameTable into the nested namespace");
  t.eq(false, await catalog.tableExists(id), "the old name is gone");
  t.eq(after["table-uuid"], (await catalog.loadTable(moved))["table-uuid"], "the new name is the same table");
  t.eq([moved.name], (await catalog.listTables({ namespace: [ns, "sub"] })).identifiers.map((x) => x.name), "listTables");

  await rejects(409, () => catalog.dropNamespace({ namespace: [ns, "sub"] }), "a namespace holding a table cannot be dropped");
  const prefix = after.location.replace("s3://warehouse/", "") + "/";
  const before = await s3.send(new ListObjectsV2Command({ Bucket: "warehouse", Prefix: prefix }));
  t.check(before.KeyCount > 0, "the table has files before the purge", `${before.KeyCount}`);
  await t.attempt(() => catalog.dropTable(moved, { purge: true }), "dropTable with purge");
  const left = await s3.send(new ListObjectsV2Command({ Bucket: "warehouse", Prefix: prefix }));
  t.eq(0, left.KeyCount, "purge deleted the table's files");
  await t.attempt(() => catalog.dropNamespace({ namespace: [ns, "sub"] }), "drop the nested namespace");
  await t.attempt(() => catalog.dropNamespace({ namespace: [ns] }), "drop the namespace");
  t.eq(false, await catalog.namespaceExists({ namespace: [ns] }), "it is gone");
}

const base = `${srv.catalogUrl}/iceberg`;
const noauth = new IcebergRestCatalog({ baseUrl: base });
await rejects(401, () => noauth.listNamespaces(), "without a token the catalog answers 401");

const main = new IcebergRestCatalog({ baseUrl: base, auth: { type: "bearer", token: bearer } });
await lifecycle("main (no prefix)", main, "sales");

const mainByName = new IcebergRestCatalog({ baseUrl: base, warehouse: "main", auth: { type: "bearer", token: bearer } });
await lifecycle("main (warehouse main → /v1/main)", mainByName, "ops");

{
  // dev branches off main through the Nessie API on the same port
  const mainRef = await (await fetch(`${srv.catalogUrl}/api/v2/trees/main`, { headers: { Authorization: `Bearer ${bearer}` } })).json();
  const r = await fetch(`${srv.catalogUrl}/api/v2/trees?name=dev&type=BRANCH`, {
    method: "POST",
    headers: { Authorization: `Bearer ${bearer}`, "Content-Type": "application/json" },
    body: JSON.stringify(mainRef.reference ?? mainRef),
  });
  t.check(r.status === 200, "create branch dev", `${r.status} ${await r.text()}`);
  const dev = new IcebergRestCatalog({ baseUrl: base, warehouse: "dev", auth: { type: "bearer", token: bearer } });
  t.eq("dev", (await dev.loadConfig()).overrides?.prefix, "warehouse dev resolves to prefix dev");
  await main.createNamespace({ namespace: ["only_main"] });
  await lifecycle("branch dev (/iceberg/v1/dev)", dev, "staging");
  const devNs = (await dev.listNamespaces()).namespaces.map((n) => n.namespace.join("."));
  t.check(!devNs.includes("only_main"), "dev does not see what main got after the branch", JSON.stringify(devNs));
}

await t.finish();
