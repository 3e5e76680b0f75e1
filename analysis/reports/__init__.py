"""Report kinds, their texts in Danish and English, and the key numbers they publish."""
