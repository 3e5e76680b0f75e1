-- Layout of every report, for both writers (HTML and typst).
-- 1. Column widths come from the content: pandoc's relative widths (from the
--    length of the pipe-table dashes) are dropped, so the browser and typst size
--    each column to what it holds and a header never runs into its neighbour.
-- 2. The contents go after the summary (the first section), so page 1 of the PDF
--    and the top of the HTML page are the answer, not a table of contents.
-- 3. In the PDF a table of up to KEEP_ROWS rows and KEEP_CHARACTERS characters is
--    kept on one page, so no table leaves a few rows on a page of their own (longer
--    ones break with a repeated header). The character budget keeps a table of few
--    but long rows, which would not fit on a page, breakable: typst would otherwise
--    let it run off the page.
-- 4. A figure drawn twice (attribute narrow="file.svg", from show.figure's
--    ``narrow``): the HTML gets both drawings in one figure, the narrow one shown on
--    narrow screens instead of the wide one (report.css); the PDF gets the wide one.
local KEEP_ROWS = 30
local KEEP_CHARACTERS = 2000

function Table(tbl)
  for i, spec in ipairs(tbl.colspecs) do
    tbl.colspecs[i] = {spec[1], pandoc.ColWidthDefault}
  end
  if FORMAT == "typst" then
    local rows = 0
    for _, body in ipairs(tbl.bodies) do rows = rows + #body.body end
    if rows <= KEEP_ROWS and #pandoc.utils.stringify(tbl) <= KEEP_CHARACTERS then
      return {pandoc.RawBlock("typst", "#block(breakable: false, width: 100%)["), tbl,
              pandoc.RawBlock("typst", "]")}
    end
  end
  return tbl
end

function Pandoc(doc)
  local title = pandoc.utils.stringify(doc.meta["toc-title"] or "")
  local marker
  if FORMAT == "typst" then
    marker = pandoc.RawBlock("typst",
      "#v(1em)\n#outline(title: [" .. title .. "], depth: 2)\n#v(1.5em)")
  else
    marker = pandoc.Div({}, pandoc.Attr("toc-here"))
  end
  local seen = 0
  for i, block in ipairs(doc.blocks) do
    if block.t == "Header" and block.level == 1 then
      seen = seen + 1
      if seen == 2 then
        doc.blocks:insert(i, marker)
        return doc
      end
    end
  end
  doc.blocks:insert(marker)
  return doc
end

function Image(img)
  local narrow = img.attributes["narrow"]
  if narrow == nil then return nil end
  img.attributes["narrow"] = nil
  if not FORMAT:match("html") then return img end
  img.classes:insert("wide-variant")
  local small = pandoc.Image(img.caption, narrow, img.title,
    pandoc.Attr("", {"narrow-variant"}, {}))
  return {img, small}
end
