<script>
/* Marks table regions that are wider than the screen: the stylesheet then shows a
   scroll cue and keeps the first and last columns in view. Runs again on resize. */
(function () {
  function mark() {
    document.querySelectorAll(".table-scroll").forEach(function (region) {
      var wide = region.scrollWidth > region.clientWidth + 1;
      region.classList.toggle("overflowing", wide);
      region.parentElement.classList.toggle("overflowing", wide);
    });
  }
  window.addEventListener("resize", mark);
  document.addEventListener("DOMContentLoaded", mark);
  mark();
})();
</script>
