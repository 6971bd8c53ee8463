"""DeepSeek-R1's recipe in miniature: a task reasoned in words in five languages, a word-level tokenizer,
a pretrained "base" model, and the stages of R1-Zero and R1, each evaluated on the same held-out prompts.

``vrewards demo --recipe r1-zero|r1 --run-dir DIR`` runs one (:func:`run.run_recipe`).
"""
