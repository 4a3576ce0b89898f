"""Query jobs: queries whose results go to a destination instead of the response."""
