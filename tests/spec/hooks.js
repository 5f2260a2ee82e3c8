// Hooks of the spec-driven client (drive.mjs), as dredd's hooks: what the
// spec cannot say. Keys, the server's flags, ids captured from answers
// (under the name of the path parameter that takes them), and requests
// that set up a precondition. No request of an operation under test is
// built here: drive.mjs builds those from the spec.

// The keys to make (`cpqd key new`): a role, or partner:ID.
export const keys = ["admin", "rep", "manager", "crm", "partner:P-101"];

// Of the roles an operation admits (x-cpqd-roles), the first of these.
export const rolePreference = ["rep", "crm", "admin", "manager", "partner"];

export function keyFor(role) {
  return role === "partner" ? "partner:P-101" : role;
}

// The service's today is fixed; the webhook points at a closed loopback
// port and gives up after one attempt, so that events fail and the
// replay of a failed event can be exercised.
export function serveArgs({ dir }) {
  return ["--clock", "2026-12-01", "--sweep-every", "0", "--threads", "2",
    "--webhook", "http://127.0.0.1:9/hooks", "--webhook-secret", dir + "/webhook-secret",
    "--webhook-max-attempts", "1"];
}

// An approved quote, accepted: the contract.
async function contract(api, quote, accept) {
  const q = await api.call("POST", "/v1/quotes", quote);
  await api.call("POST", `/v1/quotes/${q.id}/submit`);
  return api.call("POST", `/v1/quotes/${q.id}/accept`, accept);
}

// A quote beyond the rep's authority, submitted: pending_approval.
async function pending(api, customer) {
  const q = await api.call("POST", "/v1/quotes", {
    customer: { id: customer }, date: "2026-12-01",
    lines: [{ sku: "APL-KTL-17", quantity: "2", discount: "15" }],
  });
  await api.call("POST", `/v1/quotes/${q.id}/submit`);
  return q.id;
}

const usageQuote = {
  customer: { id: "U-1" }, date: "2026-12-01",
  lines: [{ id: "oss", sku: "CLD-OSS-STD", quantity: "1000", attributes: { region: "cn-shanghai" } }],
};
const saasQuote = {
  customer: { id: "S-1" }, date: "2026-12-01",
  lines: [{ id: "seats", sku: "SAS-CRM-STD-Q", quantity: "10", attributes: { tenant: "acme" } }],
};

// A portal session of partner P-101: the cookie and the CSRF token.
async function session(api) {
  const r = await api.send("POST", "/v1/session", { body: { key: api.keys["partner:P-101"] } });
  if (r.status !== 201) throw new Error(`hook POST /v1/session answered ${r.status}: ${r.text}`);
  const cookie = (r.headers.get("set-cookie") || "").split(";")[0];
  return { Cookie: cookie, "X-CSRF-Token": r.json.csrf_token };
}

export const before = {
  // approve and reject act on quotes waiting for approval, by a manager
  async approveQuote(t, api) {
    t.params.quote_id = await pending(api, "C-2");
    t.role = "manager";
  },
  async rejectQuote(t, api) {
    t.params.quote_id = await pending(api, "C-3");
    t.role = "manager";
  },
  // goods with service: acceptance of the installation pump line
  async recordAcceptance(t, api) {
    const c = await contract(api, {
      customer: { id: "H-1" }, date: "2026-12-01",
      lines: [{ id: "pump", sku: "MED-IP-V1", quantity: "2" }],
    }, { signed_on: "2026-12-02" });
    t.params.contract_id = c.id;
    t.params.line = "pump";
  },
  async acceptMilestone(t, api) {
    const c = await contract(api, {
      customer: { id: "P-1" }, date: "2026-12-01",
      lines: [{ id: "mes", sku: "PRJ-MES-IMPL", quantity: "1",
        attributes: { project_code: "PJ-2026-0001" } }],
    }, { signed_on: "2026-12-02", lines: { mes: { milestones: { signed: "2026-12-02" } } } });
    t.params.contract_id = c.id;
  },
  async recordUsage(t, api) {
    const c = await contract(api, usageQuote, { signed_on: "2026-12-02", start_on: "2027-01-01" });
    api.vars.usage_contract = c.id;
    t.params.contract_id = c.id;
  },
  async closePeriod(t, api) {
    t.params.contract_id = api.vars.usage_contract;
  },
  async changeSeats(t, api) {
    const c = await contract(api, saasQuote, { signed_on: "2026-12-02", start_on: "2027-01-31" });
    api.vars.saas_contract = c.id;
    t.params.contract_id = c.id;
    t.params.line = "seats";
  },
  async renewLine(t, api) {
    t.params.contract_id = api.vars.saas_contract;
    t.params.line = "seats";
  },
  // the finance loop: a customer the CRM described before it is read
  async getCustomer(t, api) {
    await api.call("PUT", "/v1/customers/C-1", { name: "北京华信贸易有限公司" }, "crm");
  },
  // a flagged customer's approved quote waits for a credit approval
  async approveCredit(t, api) {
    await api.call("PUT", "/v1/customers/F-9/credit", { limit: null, risk_flags: ["watch"] }, "crm");
    const q = await api.call("POST", "/v1/quotes", {
      customer: { id: "F-9" }, date: "2026-12-01", lines: [{ sku: "APL-KTL-17", quantity: "2" }],
    });
    await api.call("POST", `/v1/quotes/${q.id}/submit`);
    t.params.quote_id = q.id;
  },
  // invoices need a catalog with a finance section (saas): training,
  // delivered on signing, is due at once
  async issueInvoice(t, api) {
    const c = await contract(api, {
      customer: { id: "C-1" }, date: "2026-12-01",
      lines: [{ id: "train", sku: "SAS-SVC-TRAIN", quantity: "1" }],
    }, { signed_on: "2026-12-01", lines: { train: { milestones: { trained: "2026-12-01" } } } });
    api.vars.fin_contract = c.id;
    api.vars.fin_receivable = c.items[0].id;
    t.params.contract_id = c.id;
  },
  async getRevenue(t, api) {
    t.params.contract_id = api.vars.fin_contract;
  },
  async writeOff(t, api) {
    t.params.receivable_id = api.vars.fin_receivable;
  },
  // the contract of the quote acceptQuote accepted
  async getQuoteContract(t, api) {
    t.params.quote_id = api.vars.accepted_quote_id;
  },
  // the portal's sessions: sign in with a real key; read and end a session by its cookie
  async createSession(t, api) {
    t.body = { key: api.keys["partner:P-101"] };
  },
  async getSession(t, api) {
    t.headers = { Cookie: (await session(api)).Cookie };
  },
  async deleteSession(t, api) {
    t.headers = await session(api);
  },
  // the webhook's first attempt fails (nothing listens): wait until an
  // event is parked as failed
  async listAdminEvents(t, api) {
    for (let i = 0; i < 100; i++) {
      const r = await api.call("GET", "/v1/admin/events?status=failed&limit=1", undefined, "admin");
      if (r.items.length) return;
      await api.sleep(50);
    }
  },
};

export const after = {
  createQuote(t, body, api) {
    api.vars.quote_id = body.id;
  },
  acceptQuote(t, body, api) {
    api.vars.contract_id = body.id;
    api.vars.accepted_quote_id = body.quote_id;
    api.vars.receivable_id = body.items[0].id;
  },
  listAdminEvents(t, body, api) {
    if (body.items.length) api.vars.event_id = body.items[0].id;
  },
  issueInvoice(t, body, api) {
    api.vars.invoice_id = body.id;
  },
  importStatement(t, body, api) {
    api.vars.statement_id = body.id;
  },
  listCredits(t, body, api) {
    if (body.items.length) api.vars.credit_id = body.items[0].id;
  },
  matchCredit(t, body, api) {
    api.vars.match_id = body.id;
  },
  writeOff(t, body, api) {
    api.vars.write_off_id = body.id;
  },
};
