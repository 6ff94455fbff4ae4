#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Generate the shipped default task (SST-2 format) for `tpa run`.

usage: gen_task.py [OUT_DIR]   (default: share/default/task beside this file)

Each sentence mixes neutral filler words with sentiment words from a small
positive or negative lexicon; the label is the polarity with more words in
the sentence. Every word is a whole token of the default model's vocabulary
(share/default/model/vocab.txt), so the task tests attention and the
adapters, not the tokenizer. Seeded: the same files come out every time.
"""
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
POSITIVE = ["good", "great", "best", "love", "funny", "fun", "entertaining", "beautiful",
            "enjoyable", "clever", "charming", "engaging", "perfect", "fresh", "smart",
            "compelling"]
NEGATIVE = ["bad", "worst", "dull", "predictable", "flat", "silly", "obvious", "nothing"]
FILLER = ["the", "and", "of", "to", "in", "is", "that", "it", "film", "movie", "story",
          "characters", "time", "director", "plot", "script", "cast", "acting", "scenes",
          "music", "this", "was", "with", "a", "an", "on", "its", "by", "at", "from", "his",
          "her", "their", "drama", "comedy", "thriller", "picture", "book", "family", "city"]
SEED = 20261130


def sentence(rng, label):
    n_main = rng.choice([1, 1, 2, 2, 3])
    # Sometimes one word of the other polarity too, but always fewer.
    n_other = rng.choice([0, 0, 0, 1]) if n_main >= 2 else 0
    main, other = (POSITIVE, NEGATIVE) if label == 1 else (NEGATIVE, POSITIVE)
    words = [rng.choice(FILLER) for _ in range(rng.randint(4, 10))]
    for w in [rng.choice(main) for _ in range(n_main)] + [rng.choice(other) for _ in range(n_other)]:
        words.insert(rng.randint(0, len(words)), w)
    return " ".join(words)


def write(path, rng, n):
    with open(path, "w", encoding="utf-8") as f:
        f.write("sentence\tlabel\n")
        for _ in range(n):
            label = rng.randint(0, 1)
            f.write(f"{sentence(rng, label)}\t{label}\n")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "task")
    vocab_path = os.path.join(HERE, "model", "vocab.txt")
    if os.path.exists(vocab_path):
        with open(vocab_path, encoding="utf-8") as f:
            vocab = set(line.rstrip("\n") for line in f)
        missing = [w for w in POSITIVE + NEGATIVE + FILLER if w not in vocab]
        if missing:
            sys.exit(f"words not in {vocab_path}: {' '.join(missing)}")
    os.makedirs(out, exist_ok=True)
    rng = random.Random(SEED)
    write(os.path.join(out, "train.tsv"), rng, 1600)
    write(os.path.join(out, "dev.tsv"), rng, 400)


if __name__ == "__main__":
    main()
