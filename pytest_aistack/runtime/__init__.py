"""Process supervision, polling with deadlines, text files read with clear errors."""
