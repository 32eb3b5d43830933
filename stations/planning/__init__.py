"""Coverage planning: the 15-minute service circle, cross coverage, gaps and new sites."""
