// The operations page: state loaded over REST, kept fresh by the websocket's events. While the
// socket is up nothing polls; REST is asked again only when an event says something changed that
// events don't carry (waiting counts, history, the chart) or when events were missed.

import { api, ApiError, csrfToken, onUnauthorized } from "./api.js";
import { drawChart, lastDays } from "./chart.js";
import { clock, duration, num, when, words } from "./format.js";
import { Live } from "./live.js";

const A = "/api/v1/automation";
const STAGES = ["clustering", "ideas", "tasks", "content", "image_prompts", "images", "publish"];
const ACTIVE = new Set(["queued", "running", "paused"]);
const RUN_EVENTS = new Set(["run_started", "paused", "resumed", "completed", "failed", "cancelled"]);
const FINISHED = new Set(["completed", "failed", "cancelled"]);
const CHART_DAYS = 30;
const JOBS_SHOWN = 8;
const HISTORY_SIZE = 5;
const LOGS_SIZE = 20;
const ITEM_NOUN = {
  clustering: "keywords",
  ideas: "clusters",
  tasks: "ideas",
  content: "tasks",
  image_prompts: "contents",
  images: "images",
  publish: "contents",
};

const $ = (id) => document.getElementById(id);

const state = {
  account: null,
  sites: [],
  siteId: null,
  run: null, // the active run, or the site's latest one when none is active
  processing: null,
  jobs: [],
  history: { page: 1, next: false, previous: false, count: 0, rows: [] },
  logs: { runId: null, page: 1, next: false, previous: false, rows: [] },
  busy: false,
};

// --- small helpers ------------------------------------------------------------------------------

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function row(...cells) {
  const tr = document.createElement("tr");
  tr.append(...cells);
  return tr;
}

function say(target, text, kind = "error") {
  const node = $(target);
  node.classList.toggle("info", kind === "info");
  node.textContent = text;
}

/** Run `fn` once, `ms` after the last of a burst of calls. */
function debounce(fn, ms) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

/** Run `fn` at most once per `ms` while calls keep coming, and once after the last one: a
 * steady stream of events (one per item) still refreshes what they don't carry now and then. */
function throttle(fn, ms) {
  let timer = null;
  let again = false;
  const fire = () => {
    timer = null;
    if (again) {
      again = false;
      fn();
      timer = setTimeout(fire, ms);
    }
  };
  return () => {
    again = true;
    if (timer === null) fire();
  };
}

function problem(error) {
  if (error instanceof ApiError) return error.status === 0 ? error.message : `${error.message}`;
  console.error(error);
  return "Something went wrong on this page; reload it.";
}

// --- the websocket --------------------------------------------------------------------------------

const CONNECTION_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline",
};

const live = new Live({
  onStatus(status) {
    const node = $("connection");
    node.dataset.state = status;
    node.textContent = CONNECTION_TEXT[status];
  },
  onFresh(channel) {
    reloadChannel(channel);
  },
  onGap(channel) {
    reloadChannel(channel);
  },
  onEvent(channel, message) {
    if (channel === "account") {
      accountEvent(message);
    } else if (channel === `site:${state.siteId}`) {
      if (inFlight.calls > 0) inFlight.events.push(message);
      siteEvent(message);
    }
  },
  onAuthFailed() {
    signedOut("Your session has expired; sign in again.");
  },
  onError(channel, message) {
    say("page-message", `Live updates for ${channel}: ${message.message}`);
  },
});

function reloadChannel(channel) {
  if (channel === "account") {
    loadBalance();
    loadChart();
  } else if (channel === `site:${state.siteId}`) {
    loadSite();
  }
}

// REST answers and the socket's events come on different connections, so an answer may arrive
// after an event the page has already applied, having been read before it. The balance keeps an
// event's value over such an answer; a site's state read or changed over REST (`whileInFlight`)
// has the site's events that came meanwhile replayed over its answer, in order.
const inFlight = { calls: 0, events: [] };
let balanceEvents = 0;

/** `call(replay)`: a REST call whose answer `replay()` brings up to date, once applied. */
async function whileInFlight(call) {
  const since = inFlight.events.length;
  inFlight.calls += 1;
  try {
    return await call(() => {
      for (const message of inFlight.events.slice(since)) siteEvent(message);
    });
  } finally {
    inFlight.calls -= 1;
    if (inFlight.calls === 0) inFlight.events = [];
  }
}

function accountEvent(message) {
  if (message.event === "credits.changed") {
    balanceEvents += 1;
    $("balance").textContent = num(message.data.balance);
    $("balance").dataset.value = message.data.balance;
    chartSoon();
  }
}

function siteEvent(message) {
  const { event, data } = message;
  if (event.startsWith("job.")) {
    upsertJob(data);
    // A job that charged exactly what it reserved ends without a credits.changed: the usage moved anyway.
    if (event !== "job.queued" && event !== "job.progress") chartSoon();
    return;
  }
  if (!event.startsWith("automation.")) return;
  const name = event.slice("automation.".length);
  if (RUN_EVENTS.has(name)) {
    const { run_id: _ignored, ...run } = data;
    state.run = run;
    if (name === "run_started") state.processing = null;
    if (FINISHED.has(name)) {
      state.processing = null;
      chartSoon();
      historySoon();
      if (state.logs.runId === run.id) loadLogs();
    }
    if (name === "paused" || name === "run_started") historySoon();
  } else if (!state.run || state.run.id !== data.run_id) {
    siteSoon(); // an event of a run this page hasn't loaded: fetch it
    return;
  } else if (name === "stage_started") {
    stageStarted(data, message.ts);
  } else if (name === "item_processed") {
    itemProcessed(data, message.ts);
  }
  renderRun();
  overviewSoon();
}

function stageStarted(data, ts) {
  const run = state.run;
  for (const stage of run.stages) {
    if (stage.number < data.number && stage.status === "running") {
      // The stage that just ended, as the server ends it: failed only if every item failed.
      stage.status = stage.processed > 0 && stage.failed === stage.processed ? "failed" : "completed";
      stage.finished_at = ts;
    }
  }
  const stage = run.stages[data.number - 1];
  Object.assign(stage, { status: data.status, total: data.total, started_at: ts });
  if (data.status === "skipped") stage.finished_at = ts;
  run.current_stage = data.stage;
  run.status = "running";
}

function itemProcessed(data, ts) {
  const run = state.run;
  const stage = run.stages[data.number - 1];
  // Counters only move forward: an event the REST state already holds changes nothing.
  if (data.processed > stage.processed) {
    if (data.status === "failed") stage.failed += data.processed - stage.processed;
    stage.processed = data.processed;
    stage.credits_used += data.credits;
  }
  stage.total = data.total;
  stage.status = "running";
  run.credits_used = Math.max(run.credits_used, data.credits_used);
  run.current_stage = data.stage;
  let eta = null;
  if (stage.started_at && data.processed > 0) {
    const elapsed = (new Date(ts) - new Date(stage.started_at)) / 1000;
    eta = Math.round((elapsed / data.processed) * Math.max(0, data.total - data.processed));
  }
  state.processing = {
    stage: data.stage,
    number: data.number,
    item: data.item,
    processed: data.processed,
    total: data.total,
    eta_seconds: eta,
  };
}

function upsertJob(job) {
  const jobs = state.jobs.filter((j) => j.id !== job.id);
  jobs.push(job);
  jobs.sort((a, b) => b.id - a.id);
  state.jobs = jobs.slice(0, JOBS_SHOWN);
  renderJobs();
}

// --- loading over REST ------------------------------------------------------------------------------

async function loadBalance() {
  const seen = balanceEvents;
  try {
    const body = await api("GET", "/api/v1/billing/balance/");
    if (balanceEvents !== seen) return; // a credits.changed came meanwhile: its balance stands
    $("balance").textContent = num(body.data.credits);
    $("balance").dataset.value = body.data.credits;
  } catch (error) {
    say("page-message", problem(error));
  }
}

async function loadChart() {
  const dates = lastDays(CHART_DAYS);
  const end = new Date(`${dates[dates.length - 1]}T00:00:00Z`);
  end.setUTCDate(end.getUTCDate() + 1);
  try {
    const body = await api("GET", "/api/v1/billing/usage/summary/", {
      params: { start: `${dates[0]}T00:00:00Z`, end: end.toISOString() },
    });
    drawChart($("chart"), dates, body.data.by_day);
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) {
      $("chart").textContent = "Usage is shown to the account's owner.";
    } else {
      $("chart").textContent = problem(error);
    }
  }
}

async function loadSite() {
  const siteId = state.siteId;
  if (siteId === null) return;
  const params = { site_id: siteId };
  await whileInFlight(async (replay) => {
    try {
      const [current, processing, overview, jobs] = await Promise.all([
        api("GET", `${A}/current_run/`, { params }),
        api("GET", `${A}/current_processing/`, { params }),
        api("GET", `${A}/pipeline_overview/`, { params }),
        api("GET", "/api/v1/jobs/", { params: { ...params, ordering: "-created_at", page_size: JOBS_SHOWN } }),
      ]);
      if (siteId !== state.siteId) return; // another site was picked meanwhile
      state.processing = processing.data;
      state.jobs = jobs.results;
      renderOverview(overview.data);
      renderJobs();
      await loadHistory();
      state.run = current.data || state.history.rows[0] || null;
      if (!current.data && state.history.page !== 1) {
        const latest = await api("GET", `${A}/history/`, { params: { ...params, page_size: 1 } });
        state.run = latest.results[0] || null;
      }
      replay();
      renderRun();
      say("page-message", "");
    } catch (error) {
      say("page-message", problem(error));
    }
  });
}

async function loadOverview() {
  if (state.siteId === null) return;
  try {
    const body = await api("GET", `${A}/pipeline_overview/`, { params: { site_id: state.siteId } });
    renderOverview(body.data);
  } catch (error) {
    say("page-message", problem(error));
  }
}

async function loadHistory() {
  const body = await api("GET", `${A}/history/`, {
    params: { site_id: state.siteId, page: state.history.page, page_size: HISTORY_SIZE, ordering: "-created_at" },
  });
  Object.assign(state.history, {
    rows: body.results,
    count: body.count,
    next: Boolean(body.next),
    previous: Boolean(body.previous),
  });
  renderHistory();
}

async function loadLogs() {
  const { runId, page } = state.logs;
  if (runId === null) return;
  try {
    const body = await api("GET", `${A}/logs/`, {
      params: { site_id: state.siteId, run_id: runId, page, page_size: LOGS_SIZE },
    });
    Object.assign(state.logs, { rows: body.results, next: Boolean(body.next), previous: Boolean(body.previous) });
    renderLogs();
  } catch (error) {
    say("page-message", problem(error));
  }
}

const chartSoon = throttle(loadChart, 3000);
const overviewSoon = throttle(loadOverview, 1500);
const siteSoon = debounce(loadSite, 200);
const historySoon = debounce(() => loadHistory().catch((error) => say("page-message", problem(error))), 300);

// --- rendering ---------------------------------------------------------------------------------------

function buildStages() {
  const list = $("stages");
  list.replaceChildren();
  STAGES.forEach((name, i) => {
    const li = document.createElement("li");
    li.className = "stage";
    li.dataset.stage = name;
    const labelId = `stage-${name}-label`;
    li.innerHTML = `
      <div class="stage-head">
        <span id="${labelId}">${i + 1}. ${words(name)}</span>
        <span class="stage-status"></span>
        <span class="stage-counts"></span>
        <span class="stage-credits"></span>
      </div>
      <div class="track" role="progressbar" aria-labelledby="${labelId}" aria-valuemin="0" aria-valuemax="0" aria-valuenow="0">
        <div class="fill"></div>
      </div>`;
    list.append(li);
  });
}

function renderRun() {
  const run = state.run;
  const summary = $("run-summary");
  const active = Boolean(run && ACTIVE.has(run.status));
  summary.dataset.runId = run ? run.id : "";
  summary.dataset.status = run ? run.status : "";
  if (!run) {
    summary.textContent = "No run yet on this site.";
  } else {
    const lead = active ? `Run #${run.id}` : `Last run #${run.id}`;
    const stage = run.current_stage ? ` · stage ${STAGES.indexOf(run.current_stage) + 1} of 7 (${words(run.current_stage)})` : "";
    const why = run.reason ? ` · stopped: ${words(run.reason)}` : "";
    const error = run.error && run.error.message ? ` · ${run.error.message}` : "";
    summary.textContent =
      `${lead} · ${run.status}${stage} · credits: ${num(run.credits_used)} used of ${num(run.credits_reserved)} reserved` +
      ` · started ${when(run.started_at || run.created_at)}${why}${error}`;
  }
  for (const li of $("stages").children) {
    const name = li.dataset.stage;
    const stage = run ? run.stages.find((s) => s.stage === name) : null;
    const processed = stage ? stage.processed : 0;
    const total = stage ? stage.total : 0;
    const status = stage ? stage.status : "pending";
    const bar = li.querySelector("[role=progressbar]");
    bar.setAttribute("aria-valuemax", String(total));
    bar.setAttribute("aria-valuenow", String(processed));
    bar.setAttribute("aria-valuetext", `${num(processed)} of ${num(total)} ${ITEM_NOUN[name]}, ${status}`);
    const fill = li.querySelector(".fill");
    fill.style.width = `${total > 0 ? Math.min(100, (processed / total) * 100) : status === "completed" ? 100 : 0}%`;
    fill.dataset.status = status;
    const badge = li.querySelector(".stage-status");
    badge.textContent = status;
    badge.dataset.status = status;
    li.querySelector(".stage-counts").textContent =
      `${num(processed)} / ${num(total)} ${ITEM_NOUN[name]}` + (stage && stage.failed ? ` (${num(stage.failed)} failed)` : "");
    li.querySelector(".stage-credits").textContent = `${num(stage ? stage.credits_used : 0)} credits`;
  }
  const p = state.processing;
  const processing = $("processing");
  if (active && p && run.status !== "paused") {
    const item = p.item ? `${words(p.item.type)}${p.item.id ? ` #${p.item.id}` : ""}${p.item.title ? ` “${p.item.title}”` : ""}` : "…";
    processing.textContent =
      `Now: ${words(p.stage)} — ${item} · ${num(p.processed)} of ${num(p.total)}` +
      (p.eta_seconds !== null && p.eta_seconds !== undefined ? ` · about ${duration(p.eta_seconds)} left in this stage` : "");
  } else {
    processing.textContent = "";
  }
  renderControls();
}

function renderControls() {
  const status = state.run ? state.run.status : null;
  const active = ACTIVE.has(status);
  const busy = state.busy || state.siteId === null;
  $("run-now").disabled = busy || active;
  $("pause").disabled = busy || !(status === "running" || status === "queued");
  $("resume").disabled = busy || status !== "paused";
  $("cancel").disabled = busy || !active;
}

function renderOverview(overview) {
  const body = $("overview");
  body.replaceChildren(
    ...overview.stages.map((s) => {
      const tr = row(cell(String(s.number)), cell(words(s.stage) + (s.enabled ? "" : " (off)")), cell(num(s.waiting), "num"));
      tr.dataset.stage = s.stage;
      tr.dataset.waiting = s.waiting;
      return tr;
    }),
  );
}

function renderJobs() {
  $("jobs").replaceChildren(
    ...state.jobs.map((job) => {
      const progress = job.progress && job.progress.total ? `${num(job.progress.done)} / ${num(job.progress.total)}` : "—";
      const tr = row(cell(`#${job.id}`), cell(words(job.kind)), cell(job.status), cell(progress, "num"), cell(num(job.credits_used), "num"));
      tr.dataset.jobId = job.id;
      tr.dataset.status = job.status;
      return tr;
    }),
  );
  if (state.jobs.length === 0) $("jobs").append(row(cell("No jobs yet.")));
}

function renderHistory() {
  const h = state.history;
  $("history").replaceChildren(
    ...h.rows.map((run) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "link";
      button.textContent = "Logs";
      button.setAttribute("aria-label", `Logs of run ${run.id}`);
      button.addEventListener("click", () => {
        state.logs.runId = run.id;
        state.logs.page = 1;
        $("logs-title").textContent = `Logs of run #${run.id}`;
        $("logs-hint").hidden = true;
        loadLogs();
      });
      const actions = document.createElement("td");
      actions.append(button);
      const tr = row(cell(`#${run.id}`), cell(run.status), cell(run.trigger), cell(when(run.started_at || run.created_at)), cell(num(run.credits_used), "num"), actions);
      tr.dataset.runId = run.id;
      return tr;
    }),
  );
  if (h.rows.length === 0) $("history").append(row(cell("No runs yet.")));
  const pages = Math.max(1, Math.ceil(h.count / HISTORY_SIZE));
  $("history-page").textContent = `Page ${num(h.page)} of ${num(pages)}`;
  $("history-prev").disabled = !h.previous;
  $("history-next").disabled = !h.next;
}

function renderLogs() {
  const l = state.logs;
  $("logs").replaceChildren(
    ...l.rows.map((line) => row(cell(clock(line.ts)), cell(line.level), cell(line.stage ? words(line.stage) : "—"), cell(line.message))),
  );
  $("logs-page").textContent = `Page ${num(l.page)}`;
  $("logs-prev").disabled = !l.previous;
  $("logs-next").disabled = !l.next;
}

// --- run controls ------------------------------------------------------------------------------------

function estimateTable(error) {
  const table = document.createElement("table");
  table.className = "estimate";
  const caption = document.createElement("caption");
  caption.textContent = `Not enough credits: this run needs ${num(error.body.required)}, the balance is ${num(error.body.available)}.`;
  table.append(caption);
  const head = row();
  for (const title of ["Stage", "Items", "Credits"]) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = title;
    head.append(th);
  }
  const thead = document.createElement("thead");
  thead.append(head);
  const tbody = document.createElement("tbody");
  for (const s of error.body.estimate || []) {
    tbody.append(row(cell(`${s.number}. ${words(s.stage)}`), cell(num(s.items), "num"), cell(num(s.credits), "num")));
  }
  table.append(thead, tbody);
  return table;
}

async function control(action) {
  const params = { site_id: state.siteId };
  if (action !== "run_now") params.run_id = state.run.id;
  state.busy = true;
  renderControls();
  say("run-message", "");
  try {
    const run = await whileInFlight(async (replay) => {
      const body = await api("POST", `${A}/${action}/`, { params });
      state.run = action === "run_now" ? body.data.run : body.data;
      replay(); // an event may already have moved the run further than this answer shows
      return state.run;
    });
    const messages = {
      run_now: `Run #${run.id} started.`,
      pause: run.status === "paused" ? "Paused." : "Pause requested: the run pauses after the item in flight.",
      resume: "Resumed.",
      cancel: run.status === "cancelled" ? "Cancelled." : "Cancel requested: the run stops after the item in flight.",
    };
    say("run-message", messages[action], "info");
    if (action === "run_now") historySoon();
  } catch (error) {
    const node = $("run-message");
    if (error instanceof ApiError && error.status === 402) {
      node.classList.remove("info");
      node.replaceChildren(estimateTable(error));
    } else if (error instanceof ApiError && error.status === 409) {
      say("run-message", `Not now: ${error.message}`);
      siteSoon();
    } else {
      say("run-message", problem(error));
    }
  } finally {
    state.busy = false;
    renderRun();
  }
}

// --- signing in and out -----------------------------------------------------------------------------

function signedOut(message = "") {
  live.stop();
  Object.assign(state, { account: null, sites: [], siteId: null, run: null, processing: null, jobs: [] });
  $("main").hidden = true;
  $("who").hidden = true;
  $("signin").hidden = false;
  say("signin-message", message);
  $("email").focus();
}

async function signIn(event) {
  event.preventDefault();
  const button = event.submitter || $("signin-form").querySelector("button");
  button.disabled = true;
  say("signin-message", "");
  try {
    // The tokens in the answer are not kept: the session cookie is the page's only credential.
    await api("POST", "/api/v1/auth/login/", {
      body: { email: $("email").value, password: $("password").value, session: true },
      quiet401: true,
    });
    $("password").value = "";
    await startSession();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) say("signin-message", "Wrong email or password.");
    else if (error instanceof ApiError && error.status === 400) say("signin-message", "Enter an email address and a password.");
    else say("signin-message", problem(error));
  } finally {
    button.disabled = false;
  }
}

async function signOut() {
  try {
    await api("POST", "/api/v1/auth/logout/", { body: {}, quiet401: true });
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) {
      say("page-message", problem(error));
      return;
    }
  }
  signedOut("You are signed out.");
  $("signin-message").classList.add("info");
}

async function startSession() {
  const account = await api("GET", "/api/v1/auth/account/", { quiet401: true });
  state.account = account.data;
  $("account-name").textContent = account.data.name;
  $("signin").hidden = true;
  $("who").hidden = false;
  $("main").hidden = false;
  const sites = await api("GET", "/api/v1/auth/sites/", { params: { page_size: 100 } });
  state.sites = sites.results;
  const select = $("site");
  select.replaceChildren(
    ...state.sites.map((site) => {
      const option = document.createElement("option");
      option.value = site.id;
      option.textContent = `${site.name} (${site.domain})`;
      return option;
    }),
  );
  if (state.sites.length === 0) {
    say("page-message", "This account has no site yet: add one through the API (POST /api/v1/auth/sites/).", "info");
  }
  const wanted = Number(new URLSearchParams(window.location.hash.slice(1)).get("site"));
  const site = state.sites.find((s) => s.id === wanted) || state.sites[0];
  live.start();
  live.setChannels(["account"]);
  loadBalance();
  loadChart();
  if (site) selectSite(site.id);
}

function selectSite(siteId) {
  state.siteId = siteId;
  $("site").value = String(siteId);
  history.replaceState(null, "", `#site=${siteId}`);
  Object.assign(state, { run: null, processing: null, jobs: [] });
  state.history.page = 1;
  Object.assign(state.logs, { runId: null, page: 1, rows: [] });
  $("logs-title").textContent = "Logs";
  $("logs-hint").hidden = false;
  renderLogs();
  renderRun();
  live.setChannels(["account", `site:${siteId}`]);
  // With the socket up, the subscription's answer triggers the load (so no event falls between);
  // without it, load now and let the subscription reload when the socket comes.
  if (!live.up) loadSite();
}

onUnauthorized(() => {
  if (state.account) signedOut("Your session has expired; sign in again.");
});

async function boot() {
  buildStages();
  renderControls();
  $("signin-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("site").addEventListener("change", (event) => selectSite(Number(event.target.value)));
  for (const action of ["run_now", "pause", "resume", "cancel"]) {
    $(action === "run_now" ? "run-now" : action).addEventListener("click", () => control(action));
  }
  $("history-prev").addEventListener("click", () => {
    state.history.page -= 1;
    loadHistory().catch((error) => say("page-message", problem(error)));
  });
  $("history-next").addEventListener("click", () => {
    state.history.page += 1;
    loadHistory().catch((error) => say("page-message", problem(error)));
  });
  $("logs-prev").addEventListener("click", () => {
    state.logs.page -= 1;
    loadLogs();
  });
  $("logs-next").addEventListener("click", () => {
    state.logs.page += 1;
    loadLogs();
  });
  try {
    await startSession();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      // The csrftoken cookie outlives a session the server has ended: say why a sign-in is asked.
      signedOut(csrfToken() ? "Your session has expired; sign in again." : "");
    } else {
      signedOut(problem(error));
    }
  }
}

boot();
