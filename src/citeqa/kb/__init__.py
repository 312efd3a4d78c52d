"""The knowledge base: one folder, one public face (`KnowledgeBase`), its parts as peers behind it.

store.py     KnowledgeBase: open/create, reads, search, write, verify (the face)
records.py   kb.sqlite, the store of record (articles, passages, vectors)
sqlite.py    opening kb.sqlite, its errors as KBErrors, the reads repair makes before trusting it
dense.py     the FAISS index, a cache derived from the stored vectors
lexical.py   the BM25 index, a cache derived from the stored texts
manifest.py  manifest.json: how it was built
lock.py      the writer lock
copies.py    near copies of one story (syndication): grouped at ingest, kept in kb.sqlite
files.py     durable writes (private temporary file, fsync, rename)
indexer.py   articles → chunked, embedded passages, committed in batches of whole articles
repair.py    `citeqa repair`: rebuild what can be rebuilt
"""

from citeqa.kb.copies import Group
from citeqa.kb.indexer import Indexer, Prepared
from citeqa.kb.manifest import Manifest
from citeqa.kb.records import ArticleInfo, StoredPassage
from citeqa.kb.repair import RepairReport, repair
from citeqa.kb.sqlite import damaged_store
from citeqa.kb.store import KnowledgeBase, check_folder

__all__ = [
    "ArticleInfo",
    "Group",
    "Indexer",
    "KnowledgeBase",
    "Manifest",
    "Prepared",
    "RepairReport",
    "StoredPassage",
    "check_folder",
    "damaged_store",
    "repair",
]
