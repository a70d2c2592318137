// Now playing and history of a mount over server-sent events. EventSource cannot send
// headers, so the URL carries a signed stream token; when the server refuses it (the
// token expired) the source closes, and we reopen with a fresh one.

const REOPEN_MS = 3000;

export function follow(mount, streamToken, handlers) {
  let source = null;
  let timer = null;
  let closed = false;

  async function open() {
    if (closed) return;
    let token;
    try {
      token = (await streamToken()).token;
    } catch (error) {
      handlers.error?.(error);
      timer = setTimeout(open, REOPEN_MS * 3);
      return;
    }
    if (closed) return;
    const url = `/api/v1/events?mount=${encodeURIComponent(mount)}&token=${encodeURIComponent(token)}`;
    source = new EventSource(url);
    source.addEventListener("now", (e) => handlers.now(JSON.parse(e.data)));
    source.addEventListener("history", (e) => handlers.history(JSON.parse(e.data)));
    source.addEventListener("open", () => handlers.state?.("live"));
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) {
        handlers.state?.("offline");
        source = null;
        timer = setTimeout(open, REOPEN_MS);
      } else {
        handlers.state?.("reconnecting");
      }
    });
  }

  open();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      source?.close();
    },
  };
}
