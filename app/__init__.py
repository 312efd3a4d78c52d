"""The citeqa chat web page (Gradio). Nothing launches on import."""
