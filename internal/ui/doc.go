// Package ui serves the investigation web UI of sleuth serve: a
// build-less single-page application (ES modules, SVG) embedded in the
// binary, which reads and writes only through the server's public HTTP
// API (the same routes and explanations the API documents).
//
// # Owns
//
//   - The assets under assets/ (HTML, CSS, JavaScript), embedded with
//     go:embed; no Node.js to build them and no CDN at run time.
//   - Their HTTP handler: GET / (the page) and GET /ui/… (the assets),
//     with a Content-Security-Policy that allows only the server's own
//     origin, and cache headers keyed on the binary's build.
//
// # Does not touch
//
// The store, the pipeline and the query layer: every figure on screen
// comes from an API response, so the UI shows what the API explains and
// nothing the API cannot defend.
//
// # Invariants
//
//   - U1: the UI never computes a risk level, an exposure or a trace
//     itself; it lays out what the API returned (graph layout, Sankey
//     columns, timeline) and shows the API's explanation beside each
//     figure.
//   - U2: everything the user types reaches the server only as an API
//     parameter (URL-encoded) or a JSON body; responses are inserted as
//     text, never as HTML, so a label or address cannot inject markup.
//   - U3: no request leaves for another origin (CSP default-src 'self').
//   - U4: the page writes only through the API's write routes (labels,
//     cases, alert reviews), so every write is checked, scoped to the API
//     key and logged by the server; the browser keeps nothing but the key
//     (sessionStorage) and the ids of the labels it added (localStorage,
//     for Remove: GET /v1/labels answers no ids).
package ui
