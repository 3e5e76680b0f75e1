"""Statistical disclosure control: suppression of small cells and the post-render check."""
