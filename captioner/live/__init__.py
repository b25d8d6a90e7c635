"""The live captioning pipeline, free of Qt: audio sources in, caption events out through a sink.

The app runs it in a ``QThread`` (``captioner.app.worker``); ``captioner transcribe`` runs it in the
calling thread. Both get the same clock, skip-ahead, gap marking, echo handling and stats.
"""
