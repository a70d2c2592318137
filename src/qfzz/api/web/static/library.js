// The library: artists A–Z, an artist's albums, an album with its songs, genres, recently
// added, most played, favourites, and search as you type. Every view is one or two
// indexed, paged Subsonic calls (the store's library queries); lists long enough to matter
// come a page at a time ("More"), and the artist index shows one letter at a time, so a
// million-track catalog renders as fast as a small one.

import { $, $$, el, formatTime } from "./dom.js";
import { enqueue, playNow } from "./queue.js";
import { mediaUrl, sub } from "./subsonic.js";

const PAGE = 48;
/** Artists of one letter shown at first (a big library has thousands under one letter). */
const ARTIST_PAGE = 300;
const SEARCH_DELAY_MS = 200;
const TILE_PX = 160;
const state = { context: null, letter: null, searchSeq: 0 };

export function setUpLibrary(context) {
  state.context = context;
  for (const button of $$(".library-nav [data-view]")) {
    button.addEventListener("click", () => open(button.dataset.view));
  }
  setUpSearch();
}

/** The first view after sign-in; forgets what the last listener saw. */
export function showLibrary() {
  state.letter = null;
  return open("artists");
}

function open(view, ...args) {
  for (const button of $$(".library-nav [data-view]")) {
    button.setAttribute("aria-pressed", String(button.dataset.view === view));
  }
  const show = { artists, newest: albumList, frequent: albumList, starred: favourites,
                 genres, artist, album, genre: albumList }[view]; // prettier-ignore
  return state.context.action(async () => {
    const box = $("#library-view");
    box.setAttribute("aria-busy", "true");
    try {
      await show(view, ...args);
    } finally {
      box.setAttribute("aria-busy", "false");
    }
  });
}

function fill(...children) {
  $("#library-view").replaceChildren(...children);
}

async function cover(id, size) {
  const { token } = await state.context.streamToken();
  return el("img", {
    class: "cover", alt: "", loading: "lazy", width: size, height: size, decoding: "async",
    src: mediaUrl("getCoverArt", { id, size: size * 2 }, token), // sharp on dense screens
  }); // prettier-ignore
}

function action(text, label, onClick, attrs = {}) {
  const node = el("button", { type: "button", class: "secondary", "aria-label": label, ...attrs },
    text); // prettier-ignore
  node.addEventListener("click", () => state.context.action(onClick));
  return node;
}

// -- artists A–Z ---------------------------------------------------------------------------

/** One letter of the index, ARTIST_PAGE artists at a time (`qfzzArtistsPage`: the server
 * keeps the index by letter; the whole of it is megabytes at a million tracks). */
async function artists() {
  const { artistsPage: page } = await sub("qfzzArtistsPage", {
    letter: state.letter ?? undefined, size: ARTIST_PAGE,
  }); // prettier-ignore
  if (!page.letters.length) {
    fill(el("p", { class: "muted" }, "The library is empty: scan a music folder."));
    return;
  }
  state.letter = page.letter;
  const bar = el("ul", { class: "letters", "aria-label": "Artists by first letter" },
    ...page.letters.map((index) => {
      const pressed = index.name === page.letter;
      const button = el("button", { type: "button", class: "ghost",
        "aria-pressed": String(pressed), "aria-label": `Artists: ${index.name}` }, index.name);
      button.addEventListener("click", () => {
        state.letter = index.name;
        open("artists").then(() => $(`.letters [aria-pressed="true"]`)?.focus());
      });
      return el("li", {}, button);
    })); // prettier-ignore
  const names = el("ul", { class: "names", "aria-label": `Artists: ${page.letter}` });
  const parts = [bar, names];
  const more = action("More", `More artists: ${page.letter}`, async () => {
    const shown = names.children.length;
    const { artistsPage: next } = await sub("qfzzArtistsPage", {
      letter: page.letter, offset: shown, size: ARTIST_PAGE,
    }); // prettier-ignore
    addArtists(names, next.artist ?? [], next.total, more);
    $(`#library-view .names > li:nth-child(${shown + 1}) button`)?.focus();
  }, { class: "secondary more" }); // prettier-ignore
  parts.push(more);
  fill(...parts);
  addArtists(names, page.artist ?? [], page.total, more);
}

function addArtists(list, found, total, more) {
  for (const a of found) {
    const count = `${a.albumCount} album${a.albumCount === 1 ? "" : "s"}`;
    const button = el("button", { type: "button", class: "ghost", "data-artist-id": a.id },
      a.name, el("span", { class: "muted" }, ` · ${count}`)); // prettier-ignore
    button.addEventListener("click", () => open("artist", a.id));
    list.append(el("li", {}, button));
  }
  more.hidden = list.children.length >= total;
}

// -- albums --------------------------------------------------------------------------------

async function albumTiles(albums) {
  const tiles = await Promise.all(
    albums.map(async (album) => {
      const tile = el("button", { type: "button", class: "album-tile", "data-album-id": album.id },
        await cover(album.coverArt || album.id, TILE_PX),
        el("span", { class: "name" }, album.name),
        el("span", { class: "muted" }, [album.artist, album.year].filter(Boolean).join(" · ")),
      ); // prettier-ignore
      tile.addEventListener("click", () => open("album", album.id));
      return el("li", {}, tile);
    }),
  );
  return el("ul", { class: "albums" }, ...tiles);
}

async function artist(_view, id) {
  const { artist: found } = await sub("getArtist", { id });
  const back = action("← Artists", "Back to the artists", () => open("artists"));
  fill(el("p", { class: "crumbs" }, back), el("h3", {}, found.name),
       await albumTiles(found.album ?? [])); // prettier-ignore
}

async function album(_view, id) {
  const { album: found } = await sub("getAlbum", { id });
  const songs = found.song ?? [];
  const starred = Boolean(found.starred);
  const head = el("div", { class: "album-head" }, await cover(found.coverArt || found.id, 180),
    el("div", {}, el("h3", {}, found.name),
      el("p", { class: "muted" }, [found.artist, found.year, found.genre].filter(Boolean).join(" · ")),
      el("div", { class: "row" },
        action("▶ Play album", `Play ${found.name}`, () => playNow(songs), { class: "" }),
        action("Add to queue", `Add ${found.name} to the queue`, () => enqueue(songs)),
        action(starred ? "★ Favourite" : "☆ Favourite",
          starred ? `Remove ${found.name} from favourites` : `Add ${found.name} to favourites`,
          async () => {
            await sub(starred ? "unstar" : "star", { albumId: found.id });
            await open("album", found.id);
          }, { "aria-pressed": String(starred) }))),
  ); // prettier-ignore
  const back = found.artistId
    ? action(`← ${found.artist}`, `Back to ${found.artist}`, () => open("artist", found.artistId))
    : null;
  fill(el("p", { class: "crumbs" }, back), head, songTable(songs, () => open("album", id)));
}

function songTable(songs, refresh) {
  const rows = songs.map((song, i) => {
    const starred = Boolean(song.starred);
    return el("tr", { "data-song-id": song.id },
      el("td", { class: "num" }, String(song.track ?? i + 1)),
      el("td", {}, song.title, el("span", { class: "muted" },
        song.artist && song.artist !== songs[0]?.artist ? ` · ${song.artist}` : "")),
      el("td", { class: "time" }, formatTime(song.duration)),
      el("td", {},
        action("▶", `Play ${song.title}`, () => playNow(songs, i), { class: "ghost" }),
        action("+", `Queue ${song.title}`, () => enqueue([song]), { class: "ghost" }),
        action(starred ? "★" : "☆",
          starred ? `Remove ${song.title} from favourites` : `Add ${song.title} to favourites`,
          async () => {
            await sub(starred ? "unstar" : "star", { id: song.id });
            await refresh();
          }, { class: "ghost", "aria-pressed": String(starred) })),
    ); // prettier-ignore
  });
  return el("table", { class: "songs" },
    el("thead", {}, el("tr", {}, el("th", { class: "num" }, "#"), el("th", {}, "Title"),
      el("th", { class: "time" }, "Time"), el("th", {}, el("span", { class: "visually-hidden" }, "Actions")))),
    el("tbody", {}, ...rows)); // prettier-ignore
}

/** Recently added, most played, or a genre's albums: a page at a time. */
async function albumList(view, genre, offset = 0, shown = []) {
  const type = view === "genre" ? "byGenre" : view;
  const { albumList2 } = await sub("getAlbumList2", { type, genre, size: PAGE, offset });
  const albums = [...shown, ...(albumList2.album ?? [])];
  const title = { newest: "Recently added", frequent: "Most played" }[view] ?? genre;
  const parts = [el("h3", {}, title)];
  if (view === "genre") {
    parts.unshift(el("p", { class: "crumbs" }, action("← Genres", "Back to genres", () => open("genres"))));
  } // prettier-ignore
  parts.push(albums.length ? await albumTiles(albums)
    : el("p", { class: "muted" }, view === "frequent" ? "Nothing played yet." : "No albums.")); // prettier-ignore
  if ((albumList2.album ?? []).length === PAGE) {
    const more = action("More", `More of ${title}`, () =>
      albumList(view, genre, offset + PAGE, albums).then(() =>
        $(`#library-view .albums > li:nth-child(${albums.length + 1}) button`)?.focus()),
      { class: "secondary more" }); // prettier-ignore
    parts.push(more);
  }
  fill(...parts);
}

async function favourites() {
  const { starred2 } = await sub("getStarred2");
  const albums = starred2.album ?? [];
  const songs = starred2.song ?? [];
  if (!albums.length && !songs.length) {
    fill(el("p", { class: "muted" }, "No favourites yet: press ☆ on an album or a song."));
    return;
  }
  fill(el("h3", {}, "Favourite albums"), albums.length ? await albumTiles(albums) : el("p", { class: "muted" }, "None."),
       el("h3", {}, "Favourite songs"), songs.length ? songTable(songs, () => open("starred")) : el("p", { class: "muted" }, "None.")); // prettier-ignore
}

async function genres() {
  const { genres: found } = await sub("getGenres");
  const list = (found.genre ?? []).filter((g) => g.albumCount > 0);
  fill(el("ul", { class: "names", "aria-label": "Genres" }, ...list.map((g) => {
    const button = el("button", { type: "button", class: "ghost", "data-genre": g.value },
      g.value, el("span", { class: "muted" }, ` · ${g.albumCount} albums`));
    button.addEventListener("click", () => open("genre", g.value));
    return el("li", {}, button);
  }))); // prettier-ignore
}

// -- search as you type --------------------------------------------------------------------

function setUpSearch() {
  const input = $("#library-search");
  const list = $("#search-results");
  let timer = null;
  const close = () => {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => state.context.action(() => search(input.value), { quiet: true }),
      SEARCH_DELAY_MS); // prettier-ignore
  });
  input.addEventListener("keydown", (event) => {
    const options = $$("#search-results [role=option]");
    const current = options.findIndex((o) => o.getAttribute("aria-selected") === "true");
    const step = { ArrowDown: 1, ArrowUp: -1 }[event.key];
    if (step !== undefined && options.length) {
      event.preventDefault();
      const next = options[(current + step + options.length) % options.length];
      for (const o of options) o.setAttribute("aria-selected", String(o === next));
      input.setAttribute("aria-activedescendant", next.id);
      next.scrollIntoView({ block: "nearest" });
    } else if (event.key === "Enter" && current >= 0) {
      event.preventDefault();
      options[current].click();
    } else if (event.key === "Escape") {
      close();
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 150)); // after a click on a result
}

async function search(text) {
  const list = $("#search-results");
  const input = $("#library-search");
  const words = text.trim();
  const seq = ++state.searchSeq;
  if (!words) {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    return;
  }
  const { searchResult3: found } = await sub("search3", {
    query: words, artistCount: 5, albumCount: 5, songCount: 10,
  }); // prettier-ignore
  if (seq !== state.searchSeq) return; // a later keystroke asked again
  const options = [];
  const { token } = await state.context.streamToken();
  if (seq !== state.searchSeq) return;
  const option = (kind, label, detail, coverId, onChoose) => {
    const picture = el("img", { class: "cover thumb", alt: "", width: 32, height: 32,
      loading: "lazy", src: mediaUrl("getCoverArt", { id: coverId, size: 64 }, token) });
    const node = el("li", { role: "option", id: `search-option-${options.length}`,
      "aria-selected": "false" }, picture, el("span", { class: "kind" }, kind),
      el("span", {}, label, el("span", { class: "muted" }, detail ? ` · ${detail}` : ""))); // prettier-ignore
    node.addEventListener("mousedown", (event) => event.preventDefault()); // keep the focus
    node.addEventListener("click", () => {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      state.context.action(onChoose);
    });
    options.push(node);
  };
  for (const a of found.artist ?? []) {
    option("Artist", a.name, "", a.coverArt || a.id, () => open("artist", a.id));
  }
  for (const a of found.album ?? []) {
    option("Album", a.name, a.artist, a.coverArt || a.id, () => open("album", a.id));
  }
  for (const s of found.song ?? []) {
    option("Song", s.title, s.artist, s.coverArt || s.id, () => playNow([s]));
  }
  if (!options.length) {
    options.push(el("li", { class: "muted", role: "option", "aria-disabled": "true",
      id: "search-option-none" }, `Nothing matches “${words}”`)); // prettier-ignore
  }
  list.replaceChildren(...options);
  list.hidden = false;
  input.setAttribute("aria-expanded", "true");
}
