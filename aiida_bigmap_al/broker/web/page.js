// The page for people in the loop: the broker's REST API driven by hand.
// The token lives in this closure only; nothing is written to storage or cookies.
"use strict";
(() => {
  let token = null;
  let account = null;      // GET /user_management/me
  let capabilities = {};   // "quantity/method" -> capability
  let claimed = null;      // {uuid, quantity, method, parameters, tenant}

  const $ = (id) => document.getElementById(id);

  function say(text) {
    $("message").textContent = text;
    $("errors").replaceChildren();
  }

  // Shows a refusal: each 422 field as "path: message", anything else as its detail.
  function refuse(error) {
    $("message").textContent = "";
    const items = Array.isArray(error.detail) ? error.detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`)
                                              : [String(error.detail)];
    $("errors").replaceChildren(...items.map((text) => {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    }));
  }

  async function call(method, path, body, form) {
    const headers = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    let payload;
    if (form) {
      payload = new URLSearchParams(body);
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const answer = await fetch(path, {method, headers, body: payload, credentials: "omit"});
    const data = await answer.json().catch(() => null);
    if (!answer.ok) {
      if (answer.status === 401 && !form) logout("Your session has expired: log in again.");
      throw {status: answer.status, detail: data && data.detail !== undefined ? data.detail : answer.statusText};
    }
    return data;
  }

  function methodKeys() {
    return [...new Set(account.tenants.flatMap((t) => t.methods))].sort();
  }

  function tenantFor(key) {
    const tenant = account.tenants.find((t) => t.methods.includes(key));
    return tenant ? tenant.uuid : null;
  }

  async function login(event) {
    event.preventDefault();
    try {
      const answer = await call("POST", "/user_management/authenticate",
                                {username: $("username").value, password: $("password").value}, true);
      token = answer.access_token;
      $("password").value = "";
      account = await call("GET", "/user_management/me");
      const list = await call("GET", "/capabilities/?currently_available=false");
      capabilities = Object.fromEntries(list.map((c) => [`${c.quantity}/${c.method}`, c]));
      $("who").textContent = account.name;
      $("methods").textContent = methodKeys().join(", ") || "no method";
      $("login").hidden = true;
      $("work").hidden = false;
      say(`Logged in as ${account.name}.`);
      await refresh();
    } catch (error) {
      refuse(error);
    }
  }

  function logout(text) {
    token = account = claimed = null;
    $("login").hidden = false;
    $("work").hidden = $("claimed").hidden = true;
    say(text || "Logged out.");
  }

  async function refresh() {
    const rows = [];
    for (const key of methodKeys()) {
      const [quantity, method] = key.split("/");
      const query = new URLSearchParams({quantity, method});
      for (const item of await call("GET", `/pending_requests/?${query}`)) rows.push(row(item, key));
    }
    $("pending").tBodies[0].replaceChildren(...rows);
    $("none-pending").hidden = rows.length > 0;
  }

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  function row(item, key) {
    const method = key.split("/")[1];
    const parameters = item.request.parameters[method] || {};
    const tr = document.createElement("tr");
    tr.dataset.uuid = item.uuid;
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Claim";
    button.className = "claim";
    button.addEventListener("click", () => claim(item, key));
    const action = document.createElement("td");
    action.append(button);
    tr.append(cell(item.uuid), cell(key), cell(JSON.stringify(parameters)), cell(item.ctime), action);
    return tr;
  }

  async function claim(item, key) {
    try {
      await call("POST", `/requests/${item.uuid}/update_status/?new_status=reserved`);
    } catch (error) {
      refuse(error);
      await refresh();
      return;
    }
    const [quantity, method] = key.split("/");
    claimed = {uuid: item.uuid, quantity, method, parameters: item.request.parameters, tenant: tenantFor(key)};
    $("claimed-uuid").textContent = item.uuid;
    $("claimed-method").textContent = key;
    $("claimed-parameters").textContent = JSON.stringify(item.request.parameters[method] || {}, null, 2);
    const capability = capabilities[key];
    $("result-schema").textContent = JSON.stringify(capability ? capability.json_schema_result_output : {}, null, 2);
    $("result-data").value = "";
    $("claimed").hidden = false;
    say(`You hold request ${item.uuid}: measure, then submit the result.`);
    await refresh();
  }

  async function submit(event) {
    event.preventDefault();
    let data;
    try {
      data = JSON.parse($("result-data").value);
    } catch (error) {
      refuse({detail: [{loc: ["data"], msg: `not JSON: ${error.message}`}]});
      return;
    }
    if (data === null || typeof data !== "object" || Array.isArray(data)) {
      refuse({detail: [{loc: ["data"], msg: "the result data must be a JSON object"}]});
      return;
    }
    const body = {data, quantity: claimed.quantity, method: [claimed.method], parameters: claimed.parameters,
                  tenant_uuid: claimed.tenant, request_uuid: claimed.uuid};
    try {
      const uuid = await call("POST", "/results/", body);
      const stored = await call("GET", `/results/${uuid}`);
      const note = stored.status_message ? ` Note: ${stored.status_message}` : "";
      $("claimed").hidden = true;
      say(`Result ${uuid} submitted for request ${claimed.uuid}.${note}`);
      claimed = null;
      await refresh();
    } catch (error) {
      refuse(error);
    }
  }

  async function release() {
    try {
      await call("POST", `/requests/${claimed.uuid}/update_status/?new_status=pending`);
      say(`Request ${claimed.uuid} is pending again.`);
      claimed = null;
      $("claimed").hidden = true;
      await refresh();
    } catch (error) {
      refuse(error);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", login);
    $("result-form").addEventListener("submit", submit);
    $("release").addEventListener("click", release);
    $("refresh").addEventListener("click", () => refresh().then(() => say("Refreshed.")).catch(refuse));
    $("logout").addEventListener("click", () => logout());
  });
})();
