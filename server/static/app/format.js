// Numbers, dates and durations as people read them, in the browser's own locale.

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const time = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });
const shortDay = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", timeZone: "UTC" });

export const num = (value) => (value === null || value === undefined ? "—" : integer.format(value));
export const when = (iso) => (iso ? dateTime.format(new Date(iso)) : "—");
export const clock = (iso) => (iso ? time.format(new Date(iso)) : "—");
export const day = (isoDate) => shortDay.format(new Date(`${isoDate}T00:00:00Z`));

/** "about 2 min 5 s" style; "—" when unknown. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${num(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${num(m)} min ${num(s % 60)} s`;
  return `${num(Math.floor(m / 60))} h ${num(m % 60)} min`;
}

/** `generate_content` → "generate content", `image_prompts` → "image prompts". */
export const words = (name) => String(name || "").replaceAll("_", " ");
