// An endless MP3 stream into an <audio> element, fed through Media Source Extensions.
//
// Why not just audio.src = url: Chromium's media loader hands the MP3 demuxer nothing
// until it has filled its first 32 KiB block, which is 2 s of audio at 128 kbps and 4 s
// at 64 kbps; a radio mount that has just started has less than that buffered, so the
// listener waited for it in real time (1.9 s at 128 kbps, 2.8 s at 96 kbps on loopback).
// Reading the response ourselves and appending each chunk as it arrives starts playback on
// the first frames. Browsers without MSE for audio/mpeg (iOS before 17) get the plain src.

const TYPE = "audio/mpeg";
/** Stop reading while this much audio is buffered ahead of the playhead. Above the
 * server's burst (4 s by default), so a real-time stream is never held back; it bounds a
 * stream that arrives faster than real time (a catch-up, a simulated clock in tests). */
const MAX_AHEAD_SECONDS = 15;
/** Played audio kept behind the playhead; older audio is removed from the buffer. */
const KEEP_BEHIND_SECONDS = 10;
const POLL_MS = 250;

export function mediaSourceWorks() {
  return typeof MediaSource === "function" && MediaSource.isTypeSupported(TYPE);
}

/**
 * Start loading `url` into `audio`; returns {close()}. `onError(error)` hears a stream
 * that could not open or broke off (its Error carries the server's detail when it sent
 * one); a stream the server ends is ended on the element ("ended" fires).
 */
export function openStream(audio, url, onError) {
  if (!mediaSourceWorks()) {
    audio.src = url;
    return { close: () => detach(audio) };
  }
  const abort = new AbortController();
  const source = new MediaSource();
  // Ask for the audio now, while the element opens the source.
  const response = fetch(url, { signal: abort.signal, cache: "no-store" });
  const opened = new Promise((resolve) =>
    source.addEventListener("sourceopen", resolve, { once: true }),
  );
  const objectUrl = URL.createObjectURL(source);
  audio.src = objectUrl;
  pump(audio, source, response, opened, abort.signal)
    .catch((error) => abort.signal.aborted || onError(error))
    .finally(() => URL.revokeObjectURL(objectUrl));
  return {
    close() {
      abort.abort();
      detach(audio);
    },
  };
}

function detach(audio) {
  audio.pause();
  audio.removeAttribute("src"); // a live stream: resume at the live edge, not here
  audio.load();
}

async function pump(audio, source, pending, opened, signal) {
  const response = await pending.catch((error) => {
    if (signal.aborted) throw error;
    throw new Error("The stream cannot be reached. Check your connection.");
  });
  if (!response.ok) throw new Error(await refusal(response));
  await opened;
  if (signal.aborted) return;
  const buffer = source.addSourceBuffer(TYPE);
  const reader = response.body.getReader();
  signal.addEventListener("abort", () => reader.cancel().catch(() => {}), { once: true });
  for (;;) {
    while (ahead(audio, buffer) > MAX_AHEAD_SECONDS && !signal.aborted) await delay(POLL_MS);
    const { value, done } = await reader.read();
    if (done || signal.aborted) break;
    await trim(audio, buffer);
    await append(buffer, value);
  }
  if (!signal.aborted && source.readyState === "open") source.endOfStream();
}

async function refusal(response) {
  try {
    const body = await response.json();
    return `The stream was refused: ${body.detail || body.error}`;
  } catch {
    return `The stream was refused (HTTP ${response.status}).`;
  }
}

function ahead(audio, buffer) {
  const ranges = buffer.buffered;
  return ranges.length ? ranges.end(ranges.length - 1) - audio.currentTime : 0;
}

function trim(audio, buffer) {
  const ranges = buffer.buffered;
  const until = audio.currentTime - KEEP_BEHIND_SECONDS;
  if (!ranges.length || ranges.start(0) >= until - KEEP_BEHIND_SECONDS) return null;
  buffer.remove(0, until);
  return updated(buffer);
}

function append(buffer, bytes) {
  buffer.appendBuffer(bytes);
  return updated(buffer);
}

function updated(buffer) {
  return new Promise((resolve, reject) => {
    const done = () => {
      buffer.removeEventListener("error", failed);
      resolve();
    };
    const failed = () => {
      buffer.removeEventListener("updateend", done);
      reject(new Error("The browser could not decode the stream."));
    };
    buffer.addEventListener("updateend", done, { once: true });
    buffer.addEventListener("error", failed, { once: true });
  });
}

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
