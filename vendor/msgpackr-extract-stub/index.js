// Exports nothing: msgpackr then uses its JavaScript string decoder.
