<script>
/* Marks table regions and figures that are wider than the screen: the stylesheet
   then shows a scroll cue and keeps a table's first column in view. Only the first
   column is kept: a second sticky column would cover the columns beside it. Runs
   again on resize. */
(function () {
  function mark() {
    document.querySelectorAll(".table-scroll").forEach(function (region) {
      var wide = region.scrollWidth > region.clientWidth + 1;
      region.classList.toggle("overflowing", wide);
      region.parentElement.classList.toggle("overflowing", wide);
    });
    document.querySelectorAll("figure").forEach(function (figure) {
      figure.classList.toggle("overflowing", figure.scrollWidth > figure.clientWidth + 1);
    });
  }
  window.addEventListener("resize", mark);
  document.addEventListener("DOMContentLoaded", mark);
  mark();
})();
</script>
