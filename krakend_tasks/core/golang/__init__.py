"""Reading Go: ELF files, module data, go.mod and go.sum, module versions, package fingerprints, and
Go's own ways (its HTTP client, its printing).
"""
