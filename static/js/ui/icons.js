// Inline SVG icons for symbols the usual Linux fonts (DejaVu, Liberation) lack: a glyph missing
// from every installed font renders as an empty box, an SVG renders everywhere.

const SVG = "http://www.w3.org/2000/svg";

const SHAPES = {
  // A stopwatch: dial, crown and one hand.
  stopwatch: [["circle", { cx: "12", cy: "14", r: "7.5" }], ["path", { d: "M10 2.5h4M12 2.5v4M12 14l3-3.5M18.5 6.5l1.5-1.5" }]],
};

/** An aria-hidden SVG icon (currentColor, 1em) by name. */
export function icon(name) {
  const svg = document.createElementNS(SVG, "svg");
  for (const [k, v] of Object.entries({ viewBox: "0 0 24 24", width: "1em", height: "1em", fill: "none", stroke: "currentColor",
    "stroke-width": "2", "stroke-linecap": "round", "aria-hidden": "true", focusable: "false", class: `icon icon-${name}` })) svg.setAttribute(k, v);
  for (const [tag, attrs] of SHAPES[name] || []) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    svg.append(el);
  }
  return svg;
}
