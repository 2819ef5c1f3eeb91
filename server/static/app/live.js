// The websocket (GET /api/v1/ws/): subscribe to channels, remember each channel's last seq and the
// `stream` it was counted in, and on a drop reconnect with backoff and resubscribe with both, so
// replay fills the gap. When the server no longer has the missed events, or its counters started
// again under a new stream (`replay_gap`), the page is told to reload over REST.

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];

export class Live {
  /**
   * @param {object} handlers
   *   onEvent(channel, message)  an event, each seq once and in order
   *   onFresh(channel)           a subscription with nothing to replay from: load the state now
   *   onGap(channel)             events were missed: reload the state over REST
   *   onStatus(state)            "connecting" | "live" | "reconnecting" | "offline"
   *   onAuthFailed()             the server closed with 4401
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.channels = new Map(); // channel → last seq seen (null: none yet)
    this.streams = new Map(); // channel → the stream its last seq counts in, from the server's answer
    this.pending = new Map(); // message id → channel, for the answers
    this.nextId = 1;
    this.socket = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = true;
  }

  get up() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  start() {
    this.stopped = false;
    if (!this.socket) this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.channels.clear();
    this.streams.clear();
    if (this.socket) {
      const socket = this.socket;
      this.socket = null;
      socket.close(1000, "signed out");
    }
    this.handlers.onStatus("offline");
  }

  /** Subscribe to exactly these channels (the ones dropped are unsubscribed). */
  setChannels(names) {
    for (const name of [...this.channels.keys()]) {
      if (!names.includes(name)) {
        this.channels.delete(name);
        this.streams.delete(name);
        this.send({ type: "unsubscribe", channel: name });
      }
    }
    for (const name of names) {
      if (!this.channels.has(name)) {
        this.channels.set(name, null);
        if (this.up) this.subscribe(name);
      }
    }
  }

  send(message) {
    if (!this.up) return null;
    const id = this.nextId;
    this.nextId += 1;
    this.socket.send(JSON.stringify({ id, ...message }));
    return id;
  }

  subscribe(name) {
    const lastSeq = this.channels.get(name);
    const message = { type: "subscribe", channel: name };
    if (lastSeq !== null && lastSeq !== undefined) {
      message.last_seq = lastSeq;
      const stream = this.streams.get(name);
      if (stream) message.stream = stream;
    }
    const id = this.send(message);
    if (id !== null) this.pending.set(id, { channel: name, fresh: lastSeq === null });
  }

  connect() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    this.handlers.onStatus(this.attempt === 0 ? "connecting" : "reconnecting");
    const socket = new WebSocket(`${scheme}//${window.location.host}/api/v1/ws/`);
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.pending.clear();
      this.handlers.onStatus("live");
      for (const name of this.channels.keys()) this.subscribe(name);
    };
    socket.onmessage = (frame) => this.receive(JSON.parse(frame.data));
    socket.onclose = (close) => {
      if (this.socket !== socket) return; // replaced or stopped on purpose
      this.socket = null;
      if (close.code === 4401) {
        this.stopped = true;
        this.handlers.onStatus("offline");
        this.handlers.onAuthFailed();
        return;
      }
      if (this.stopped) return;
      this.handlers.onStatus("reconnecting");
      const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
      this.attempt += 1;
      // Jitter, so that many pages don't all come back in the same millisecond after a restart.
      this.timer = setTimeout(() => this.connect(), base + Math.random() * base * 0.3);
    };
  }

  receive(message) {
    if (message.type === "event") {
      if (!this.channels.has(message.channel)) return;
      const last = this.channels.get(message.channel);
      if (last !== null && message.seq <= last) return; // seen already (a replay overlapping live)
      this.channels.set(message.channel, message.seq);
      this.handlers.onEvent(message.channel, message);
      return;
    }
    const asked = this.pending.get(message.id);
    if (!asked) return;
    this.pending.delete(message.id);
    // Both a result and a replay_gap name the stream that the seqs from here on count in.
    if (message.stream && this.channels.has(asked.channel)) this.streams.set(asked.channel, message.stream);
    if (message.type === "result" && asked.fresh) {
      this.handlers.onFresh(asked.channel);
    } else if (message.type === "error" && message.code === "replay_gap") {
      if (this.channels.has(asked.channel)) this.channels.set(asked.channel, message.last_seq);
      this.handlers.onGap(asked.channel);
    } else if (message.type === "error") {
      this.handlers.onError?.(asked.channel, message);
    }
  }
}
