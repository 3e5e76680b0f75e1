<script>
/* Marks table regions that are wider than the screen: the stylesheet then shows a
   scroll cue and keeps the first column in view, and the last one too when it is
   narrow (the amount or status) and the table has more than two columns. Runs
   again on resize. */
(function () {
  function mark() {
    document.querySelectorAll(".table-scroll").forEach(function (region) {
      var wide = region.scrollWidth > region.clientWidth + 1;
      region.classList.toggle("overflowing", wide);
      region.parentElement.classList.toggle("overflowing", wide);
      var row = region.querySelector("tr");
      var last = row && row.lastElementChild;
      var narrow = last && row.children.length > 2 && last.getBoundingClientRect().width < 0.35 * region.clientWidth;
      region.classList.toggle("sticky-last", Boolean(wide && narrow));
    });
  }
  window.addEventListener("resize", mark);
  document.addEventListener("DOMContentLoaded", mark);
  mark();
})();
</script>
