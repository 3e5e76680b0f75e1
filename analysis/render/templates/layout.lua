-- Layout of every report, for both writers.
-- 1. Column widths come from the content: pandoc's relative widths (from the
--    length of the pipe-table dashes) are dropped, so the browser and typst size
--    each column to what it holds and a header never runs into its neighbour.
-- 2. The contents go after the summary (the first section), so page 1 of the PDF
--    and the top of the HTML page are the answer, not a table of contents.
function Table(tbl)
  for i, spec in ipairs(tbl.colspecs) do
    tbl.colspecs[i] = {spec[1], pandoc.ColWidthDefault}
  end
  return tbl
end

function Pandoc(doc)
  local title = pandoc.utils.stringify(doc.meta["toc-title"] or "")
  local marker
  if FORMAT == "typst" then
    marker = pandoc.RawBlock("typst",
      "#pagebreak(weak: true)\n#outline(title: [" .. title .. "], depth: 2)\n#v(1.5em)")
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
