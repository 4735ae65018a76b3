package engine

func writeSpoolRec(l *lineage, rec *spoolRec) { l.writeRec(rec) }
