"""Hugging Face checkpoint ids the zoo knows exactly, as generator input.

`HF_IDS[id] = (model_type, configuration)`: the values of that checkpoint's `config.json`
that decide names and shapes (sizes, layer counts, vocabulary, tied embeddings, label count
of a fine-tuned head). The generator builds every class the auto mappings give for the model
type with `ConfigClass(**configuration)`; values left out take the config class's defaults,
so each entry states every shape-deciding value that differs from them. An id whose values
are not known for certain is left out: an unknown id is reported as unknown, never guessed.

Only linting-time data derived from this (the built manifests) is shipped; this module is
read by `zoo_generator` alone.
"""

from __future__ import annotations

from typing import Any

Config = dict[str, Any]


def _bert(hidden: int = 768, layers: int = 12, heads: int = 12, inter: int = 3072,
          vocab: int = 30522, **extra: Any) -> Config:
    return {"hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
            "intermediate_size": inter, "vocab_size": vocab, "max_position_embeddings": 512,
            "type_vocab_size": 2, **extra}


def _roberta(hidden: int = 768, layers: int = 12, heads: int = 12, inter: int = 3072,
             vocab: int = 50265, **extra: Any) -> Config:
    return {**_bert(hidden, layers, heads, inter, vocab), "max_position_embeddings": 514,
            "type_vocab_size": 1, "pad_token_id": 1, **extra}


_BERT_LARGE = {"hidden": 1024, "layers": 24, "heads": 16, "inter": 4096}
_MINILM_L6 = {"hidden": 384, "layers": 6, "heads": 12, "inter": 1536}
_MINILM_L12 = {"hidden": 384, "layers": 12, "heads": 12, "inter": 1536}


def _distilbert(vocab: int = 30522, **extra: Any) -> Config:
    return {"vocab_size": vocab, "dim": 768, "n_layers": 6, "n_heads": 12, "hidden_dim": 3072,
            "max_position_embeddings": 512, **extra}


def _deberta_v3(hidden: int, layers: int, heads: int, inter: int, vocab: int = 128100) -> Config:
    return {"vocab_size": vocab, "hidden_size": hidden, "num_hidden_layers": layers,
            "num_attention_heads": heads, "intermediate_size": inter,
            "max_position_embeddings": 512, "type_vocab_size": 0, "relative_attention": True,
            "position_buckets": 256, "norm_rel_ebd": "layer_norm", "share_att_key": True,
            "pos_att_type": ["p2c", "c2p"], "position_biased_input": False,
            "max_relative_positions": -1}


def _gpt2(n_embd: int = 768, n_layer: int = 12, n_head: int = 12) -> Config:
    return {"vocab_size": 50257, "n_positions": 1024, "n_embd": n_embd, "n_layer": n_layer,
            "n_head": n_head}


def _pythia(hidden: int, layers: int, heads: int, vocab: int = 50304) -> Config:
    return {"vocab_size": vocab, "hidden_size": hidden, "num_hidden_layers": layers,
            "num_attention_heads": heads, "intermediate_size": 4 * hidden,
            "rotary_pct": 0.25, "max_position_embeddings": 2048, "use_parallel_residual": True,
            "tie_word_embeddings": False}


def _opt(hidden: int, ffn: int, layers: int, heads: int, **extra: Any) -> Config:
    return {"vocab_size": 50272, "hidden_size": hidden, "ffn_dim": ffn,
            "num_hidden_layers": layers, "num_attention_heads": heads,
            "max_position_embeddings": 2048, "word_embed_proj_dim": hidden,
            "do_layer_norm_before": True, **extra}


def _bloom(hidden: int, layers: int, heads: int) -> Config:
    return {"vocab_size": 250880, "hidden_size": hidden, "n_layer": layers, "n_head": heads}


def _llama(hidden: int, inter: int, layers: int, heads: int, kv: int, vocab: int = 32000,
           tie: bool = False, **extra: Any) -> Config:
    return {"hidden_size": hidden, "intermediate_size": inter, "num_hidden_layers": layers,
            "num_attention_heads": heads, "num_key_value_heads": kv, "vocab_size": vocab,
            "tie_word_embeddings": tie, **extra}


def _t5(d_model: int, d_ff: int, layers: int, heads: int, d_kv: int = 64,
        vocab: int = 32128, gated: bool = False) -> Config:
    config: Config = {"vocab_size": vocab, "d_model": d_model, "d_kv": d_kv, "d_ff": d_ff,
                      "num_layers": layers, "num_decoder_layers": layers, "num_heads": heads}
    if gated:
        config.update(feed_forward_proj="gated-gelu", tie_word_embeddings=False)
    else:
        config.update(feed_forward_proj="relu", tie_word_embeddings=True)
    return config


def _bart(d_model: int, layers: int, heads: int, ffn: int, **extra: Any) -> Config:
    return {"vocab_size": 50265, "d_model": d_model, "encoder_layers": layers,
            "decoder_layers": layers, "encoder_attention_heads": heads,
            "decoder_attention_heads": heads, "encoder_ffn_dim": ffn, "decoder_ffn_dim": ffn,
            "max_position_embeddings": 1024, **extra}


def _whisper(d_model: int, layers: int, heads: int, vocab: int = 51865, mels: int = 80,
             decoder_layers: int | None = None) -> Config:
    return {"d_model": d_model, "encoder_layers": layers,
            "decoder_layers": decoder_layers or layers, "encoder_attention_heads": heads,
            "decoder_attention_heads": heads, "encoder_ffn_dim": 4 * d_model,
            "decoder_ffn_dim": 4 * d_model, "vocab_size": vocab, "num_mel_bins": mels,
            "max_source_positions": 1500, "max_target_positions": 448}


def _vit(hidden: int = 768, layers: int = 12, heads: int = 12, patch: int = 16,
         image: int = 224, **extra: Any) -> Config:
    return {"hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
            "intermediate_size": 4 * hidden, "patch_size": patch, "image_size": image, **extra}


_IMAGENET = {"num_labels": 1000}


def _swin(embed: int, depths: list[int], heads: list[int]) -> Config:
    return {"embed_dim": embed, "depths": depths, "num_heads": heads, "window_size": 7,
            "image_size": 224, "patch_size": 4, **_IMAGENET}


def _convnext(sizes: list[int], depths: list[int]) -> Config:
    return {"hidden_sizes": sizes, "depths": depths, **_IMAGENET}


def _dinov2(hidden: int, layers: int, heads: int) -> Config:
    return {"hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
            "mlp_ratio": 4, "patch_size": 14, "image_size": 518, "use_swiglu_ffn": False}


def _clip(text: tuple[int, int, int, int], vision: tuple[int, int, int, int], patch: int,
          projection: int, image: int = 224) -> Config:
    return {"text_config": {"hidden_size": text[0], "intermediate_size": text[1],
                            "num_hidden_layers": text[2], "num_attention_heads": text[3],
                            "vocab_size": 49408, "max_position_embeddings": 77},
            "vision_config": {"hidden_size": vision[0], "intermediate_size": vision[1],
                              "num_hidden_layers": vision[2], "num_attention_heads": vision[3],
                              "patch_size": patch, "image_size": image},
            "projection_dim": projection}


def _both(*names: str) -> list[str]:
    return list(names)


def _entries() -> dict[str, tuple[str, Config]]:
    ids: dict[str, tuple[str, Config]] = {}

    def add(model_type: str, config: Config, *names: str) -> None:
        for name in names:
            ids[name] = (model_type, config)

    # BERT and its sizes
    add("bert", _bert(), "bert-base-uncased", "google-bert/bert-base-uncased",
        "BAAI/bge-base-en-v1.5", "intfloat/e5-base-v2")
    add("bert", _bert(vocab=28996), "bert-base-cased", "google-bert/bert-base-cased")
    add("bert", _bert(**_BERT_LARGE), "bert-large-uncased", "google-bert/bert-large-uncased",
        "bert-large-uncased-whole-word-masking", "BAAI/bge-large-en-v1.5",
        "intfloat/e5-large-v2")
    add("bert", _bert(**_BERT_LARGE, vocab=28996), "bert-large-cased",
        "google-bert/bert-large-cased")
    add("bert", _bert(vocab=119547), "bert-base-multilingual-cased",
        "google-bert/bert-base-multilingual-cased")
    add("bert", _bert(vocab=105879), "bert-base-multilingual-uncased",
        "google-bert/bert-base-multilingual-uncased")
    add("bert", _bert(vocab=21128), "bert-base-chinese", "google-bert/bert-base-chinese")
    add("bert", _bert(vocab=31090), "allenai/scibert_scivocab_uncased")
    add("bert", _bert(vocab=28996, num_labels=9), "dslim/bert-base-NER")
    add("bert", _bert(num_labels=3), "ProsusAI/finbert")
    add("bert", _bert(vocab=105879, num_labels=5),
        "nlptown/bert-base-multilingual-uncased-sentiment")
    add("bert", _bert(hidden=128, layers=2, heads=2, inter=512), "prajjwal1/bert-tiny")
    add("bert", _bert(hidden=256, layers=4, heads=4, inter=1024), "prajjwal1/bert-mini")
    add("bert", _bert(hidden=512, layers=4, heads=8, inter=2048), "prajjwal1/bert-small")
    add("bert", _bert(hidden=512, layers=8, heads=8, inter=2048), "prajjwal1/bert-medium")
    add("bert", _bert(**_MINILM_L6), "sentence-transformers/all-MiniLM-L6-v2",
        "sentence-transformers/paraphrase-MiniLM-L6-v2")
    add("bert", _bert(**_MINILM_L12), "sentence-transformers/all-MiniLM-L12-v2",
        "microsoft/MiniLM-L12-H384-uncased", "BAAI/bge-small-en-v1.5",
        "intfloat/e5-small-v2")
    add("bert", _bert(**_MINILM_L6, num_labels=1), "cross-encoder/ms-marco-MiniLM-L-6-v2")
    # RoBERTa, XLM-R
    add("roberta", _roberta(), "roberta-base", "FacebookAI/roberta-base",
        "microsoft/codebert-base", "deepset/roberta-base-squad2")
    add("roberta", _roberta(**_BERT_LARGE), "roberta-large", "FacebookAI/roberta-large")
    add("roberta", _roberta(**_BERT_LARGE, num_labels=3), "roberta-large-mnli",
        "FacebookAI/roberta-large-mnli")
    add("roberta", _roberta(layers=6), "distilroberta-base", "distilbert/distilroberta-base",
        "sentence-transformers/all-distilroberta-v1")
    add("roberta", _roberta(num_labels=3), "cardiffnlp/twitter-roberta-base-sentiment-latest",
        "cardiffnlp/twitter-roberta-base-sentiment")
    add("roberta", _roberta(layers=6, num_labels=7),
        "j-hartmann/emotion-english-distilroberta-base")
    add("roberta", _roberta(num_labels=28), "SamLowe/roberta-base-go_emotions")
    add("xlm-roberta", _roberta(vocab=250002), "xlm-roberta-base",
        "FacebookAI/xlm-roberta-base", "intfloat/multilingual-e5-base")
    add("xlm-roberta", _roberta(**_BERT_LARGE, vocab=250002), "xlm-roberta-large",
        "FacebookAI/xlm-roberta-large", "intfloat/multilingual-e5-large")
    add("xlm-roberta", {**_roberta(**_BERT_LARGE, vocab=250002),
                        "max_position_embeddings": 8194}, "BAAI/bge-m3")
    add("longformer", {**_roberta(), "max_position_embeddings": 4098, "attention_window": 512},
        "allenai/longformer-base-4096")
    add("mpnet", {"vocab_size": 30527, "hidden_size": 768, "num_hidden_layers": 12,
                  "num_attention_heads": 12, "intermediate_size": 3072,
                  "max_position_embeddings": 514}, "sentence-transformers/all-mpnet-base-v2",
        "microsoft/mpnet-base")
    # DistilBERT
    add("distilbert", _distilbert(), "distilbert-base-uncased",
        "distilbert/distilbert-base-uncased", "distilbert-base-uncased-finetuned-sst-2-english",
        "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
        "distilbert-base-uncased-distilled-squad")
    add("distilbert", _distilbert(vocab=28996), "distilbert-base-cased",
        "distilbert/distilbert-base-cased", "distilbert-base-cased-distilled-squad")
    add("distilbert", _distilbert(vocab=119547), "distilbert-base-multilingual-cased",
        "distilbert/distilbert-base-multilingual-cased")
    # ALBERT, ELECTRA, DeBERTa, ModernBERT, XLNet
    albert = {"vocab_size": 30000, "embedding_size": 128, "num_hidden_groups": 1,
              "inner_group_num": 1, "max_position_embeddings": 512, "type_vocab_size": 2}
    add("albert", {**albert, "hidden_size": 768, "num_hidden_layers": 12,
                   "num_attention_heads": 12, "intermediate_size": 3072},
        "albert-base-v2", "albert/albert-base-v2", "albert-base-v1")
    add("albert", {**albert, "hidden_size": 1024, "num_hidden_layers": 24,
                   "num_attention_heads": 16, "intermediate_size": 4096},
        "albert-large-v2", "albert/albert-large-v2")
    add("albert", {**albert, "hidden_size": 4096, "num_hidden_layers": 12,
                   "num_attention_heads": 64, "intermediate_size": 16384},
        "albert-xxlarge-v2", "albert/albert-xxlarge-v2")
    electra = {"vocab_size": 30522, "max_position_embeddings": 512, "type_vocab_size": 2}
    add("electra", {**electra, "embedding_size": 128, "hidden_size": 256,
                    "num_hidden_layers": 12, "num_attention_heads": 4, "intermediate_size": 1024},
        "google/electra-small-discriminator")
    add("electra", {**electra, "embedding_size": 768, "hidden_size": 768,
                    "num_hidden_layers": 12, "num_attention_heads": 12,
                    "intermediate_size": 3072}, "google/electra-base-discriminator")
    add("electra", {**electra, "embedding_size": 1024, "hidden_size": 1024,
                    "num_hidden_layers": 24, "num_attention_heads": 16,
                    "intermediate_size": 4096}, "google/electra-large-discriminator")
    add("deberta-v2", _deberta_v3(768, 12, 12, 3072), "microsoft/deberta-v3-base")
    add("deberta-v2", _deberta_v3(768, 6, 12, 3072), "microsoft/deberta-v3-small")
    add("deberta-v2", _deberta_v3(384, 12, 6, 1536), "microsoft/deberta-v3-xsmall")
    add("deberta-v2", _deberta_v3(1024, 24, 16, 4096), "microsoft/deberta-v3-large")
    add("deberta-v2", _deberta_v3(768, 12, 12, 3072, vocab=251000),
        "microsoft/mdeberta-v3-base")
    add("modernbert", {"vocab_size": 50368, "hidden_size": 768, "intermediate_size": 1152,
                       "num_hidden_layers": 22, "num_attention_heads": 12,
                       "max_position_embeddings": 8192}, "answerdotai/ModernBERT-base")
    add("modernbert", {"vocab_size": 50368, "hidden_size": 1024, "intermediate_size": 2624,
                       "num_hidden_layers": 28, "num_attention_heads": 16,
                       "max_position_embeddings": 8192}, "answerdotai/ModernBERT-large")
    add("xlnet", {"vocab_size": 32000, "d_model": 768, "n_layer": 12, "n_head": 12,
                  "d_inner": 3072}, "xlnet-base-cased", "xlnet/xlnet-base-cased")
    add("xlnet", {"vocab_size": 32000, "d_model": 1024, "n_layer": 24, "n_head": 16,
                  "d_inner": 4096}, "xlnet-large-cased", "xlnet/xlnet-large-cased")
    # GPT-2 family, GPT-Neo, GPT-J, Pythia, OPT, BLOOM
    add("gpt2", _gpt2(), "gpt2", "openai-community/gpt2", "microsoft/DialoGPT-small")
    add("gpt2", _gpt2(1024, 24, 16), "gpt2-medium", "openai-community/gpt2-medium",
        "microsoft/DialoGPT-medium")
    add("gpt2", _gpt2(1280, 36, 20), "gpt2-large", "openai-community/gpt2-large",
        "microsoft/DialoGPT-large")
    add("gpt2", _gpt2(1600, 48, 25), "gpt2-xl", "openai-community/gpt2-xl")
    add("gpt2", _gpt2(n_layer=6), "distilgpt2", "distilbert/distilgpt2")
    neo = {"vocab_size": 50257, "max_position_embeddings": 2048, "window_size": 256}
    add("gpt_neo", {**neo, "hidden_size": 768, "num_layers": 12, "num_heads": 12,
                    "attention_types": [[["global", "local"], 6]]},
        "EleutherAI/gpt-neo-125m", "EleutherAI/gpt-neo-125M")
    add("gpt_neo", {**neo, "hidden_size": 2048, "num_layers": 24, "num_heads": 16,
                    "attention_types": [[["global", "local"], 12]]}, "EleutherAI/gpt-neo-1.3B")
    add("gpt_neo", {**neo, "hidden_size": 2560, "num_layers": 32, "num_heads": 20,
                    "attention_types": [[["global", "local"], 16]]}, "EleutherAI/gpt-neo-2.7B")
    add("gptj", {"vocab_size": 50400, "n_positions": 2048, "n_embd": 4096, "n_layer": 28,
                 "n_head": 16, "rotary_dim": 64}, "EleutherAI/gpt-j-6b", "EleutherAI/gpt-j-6B")
    add("gpt_neox", _pythia(512, 6, 8), "EleutherAI/pythia-70m", "EleutherAI/pythia-70m-deduped")
    add("gpt_neox", _pythia(768, 12, 12), "EleutherAI/pythia-160m",
        "EleutherAI/pythia-160m-deduped")
    add("gpt_neox", _pythia(1024, 24, 16), "EleutherAI/pythia-410m",
        "EleutherAI/pythia-410m-deduped")
    add("gpt_neox", _pythia(2048, 16, 8), "EleutherAI/pythia-1b", "EleutherAI/pythia-1b-deduped")
    add("gpt_neox", _pythia(2048, 24, 16), "EleutherAI/pythia-1.4b",
        "EleutherAI/pythia-1.4b-deduped")
    add("gpt_neox", _pythia(2560, 32, 32), "EleutherAI/pythia-2.8b",
        "EleutherAI/pythia-2.8b-deduped")
    add("opt", _opt(768, 3072, 12, 12), "facebook/opt-125m")
    add("opt", _opt(1024, 4096, 24, 16, word_embed_proj_dim=512, do_layer_norm_before=False),
        "facebook/opt-350m")
    add("opt", _opt(2048, 8192, 24, 32), "facebook/opt-1.3b")
    add("opt", _opt(2560, 10240, 32, 32), "facebook/opt-2.7b")
    add("opt", _opt(4096, 16384, 32, 32), "facebook/opt-6.7b")
    add("opt", _opt(5120, 20480, 40, 40), "facebook/opt-13b")
    add("bloom", _bloom(1024, 24, 16), "bigscience/bloom-560m", "bigscience/bloomz-560m")
    add("bloom", _bloom(1536, 24, 16), "bigscience/bloom-1b1", "bigscience/bloomz-1b1")
    add("bloom", _bloom(2048, 24, 16), "bigscience/bloom-1b7", "bigscience/bloomz-1b7")
    add("bloom", _bloom(2560, 30, 32), "bigscience/bloom-3b", "bigscience/bloomz-3b")
    add("bloom", _bloom(4096, 30, 32), "bigscience/bloom-7b1", "bigscience/bloomz-7b1")
    # LLaMA family, Mistral, Mixtral, Qwen, Gemma, Phi
    llama2_7b = _llama(4096, 11008, 32, 32, 32)
    add("llama", llama2_7b, "meta-llama/Llama-2-7b-hf", "meta-llama/Llama-2-7b-chat-hf",
        "NousResearch/Llama-2-7b-hf", "NousResearch/Llama-2-7b-chat-hf", "huggyllama/llama-7b",
        "lmsys/vicuna-7b-v1.5")
    add("llama", _llama(5120, 13824, 40, 40, 40), "meta-llama/Llama-2-13b-hf",
        "meta-llama/Llama-2-13b-chat-hf", "NousResearch/Llama-2-13b-hf")
    add("llama", _llama(8192, 28672, 80, 64, 8), "meta-llama/Llama-2-70b-hf",
        "meta-llama/Llama-2-70b-chat-hf")
    add("llama", _llama(4096, 11008, 32, 32, 32, vocab=32016), "codellama/CodeLlama-7b-hf",
        "codellama/CodeLlama-7b-Python-hf")
    llama3_8b = _llama(4096, 14336, 32, 32, 8, vocab=128256)
    add("llama", llama3_8b, "meta-llama/Meta-Llama-3-8B", "meta-llama/Meta-Llama-3-8B-Instruct",
        "meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B-Instruct",
        "meta-llama/Meta-Llama-3.1-8B", "meta-llama/Meta-Llama-3.1-8B-Instruct",
        "NousResearch/Meta-Llama-3-8B")
    add("llama", _llama(8192, 28672, 80, 64, 8, vocab=128256), "meta-llama/Meta-Llama-3-70B",
        "meta-llama/Meta-Llama-3-70B-Instruct", "meta-llama/Llama-3.1-70B",
        "meta-llama/Llama-3.1-70B-Instruct")
    add("llama", _llama(2048, 8192, 16, 32, 8, vocab=128256, tie=True, head_dim=64),
        "meta-llama/Llama-3.2-1B", "meta-llama/Llama-3.2-1B-Instruct")
    add("llama", _llama(3072, 8192, 28, 24, 8, vocab=128256, tie=True, head_dim=128),
        "meta-llama/Llama-3.2-3B", "meta-llama/Llama-3.2-3B-Instruct")
    add("llama", _llama(2048, 5632, 22, 32, 4), "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
        "TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T")
    add("llama", _llama(576, 1536, 30, 9, 3, vocab=49152, tie=True),
        "HuggingFaceTB/SmolLM2-135M", "HuggingFaceTB/SmolLM2-135M-Instruct")
    add("llama", _llama(960, 2560, 32, 15, 5, vocab=49152, tie=True),
        "HuggingFaceTB/SmolLM2-360M", "HuggingFaceTB/SmolLM2-360M-Instruct")
    mistral = _llama(4096, 14336, 32, 32, 8)
    add("mistral", mistral, "mistralai/Mistral-7B-v0.1", "mistralai/Mistral-7B-Instruct-v0.1",
        "mistralai/Mistral-7B-Instruct-v0.2", "HuggingFaceH4/zephyr-7b-beta")
    add("mistral", {**mistral, "vocab_size": 32768}, "mistralai/Mistral-7B-v0.3",
        "mistralai/Mistral-7B-Instruct-v0.3")
    add("mixtral", {**mistral, "num_local_experts": 8, "num_experts_per_tok": 2},
        "mistralai/Mixtral-8x7B-v0.1", "mistralai/Mixtral-8x7B-Instruct-v0.1")
    qwen_small = {"vocab_size": 151936, "tie_word_embeddings": True}
    add("qwen2", {**_llama(896, 4864, 24, 14, 2), **qwen_small}, "Qwen/Qwen2-0.5B",
        "Qwen/Qwen2-0.5B-Instruct", "Qwen/Qwen2.5-0.5B", "Qwen/Qwen2.5-0.5B-Instruct")
    add("qwen2", {**_llama(1536, 8960, 28, 12, 2), **qwen_small}, "Qwen/Qwen2-1.5B",
        "Qwen/Qwen2-1.5B-Instruct", "Qwen/Qwen2.5-1.5B", "Qwen/Qwen2.5-1.5B-Instruct")
    add("qwen2", {**_llama(2048, 11008, 36, 16, 2), **qwen_small}, "Qwen/Qwen2.5-3B",
        "Qwen/Qwen2.5-3B-Instruct")
    add("qwen2", _llama(3584, 18944, 28, 28, 4, vocab=152064), "Qwen/Qwen2-7B",
        "Qwen/Qwen2-7B-Instruct", "Qwen/Qwen2.5-7B", "Qwen/Qwen2.5-7B-Instruct")
    add("qwen2", _llama(5120, 13824, 48, 40, 8, vocab=152064), "Qwen/Qwen2.5-14B",
        "Qwen/Qwen2.5-14B-Instruct")
    add("qwen3", _llama(1024, 3072, 28, 16, 8, vocab=151936, tie=True, head_dim=128),
        "Qwen/Qwen3-0.6B")
    add("qwen3", _llama(2048, 6144, 28, 16, 8, vocab=151936, tie=True, head_dim=128),
        "Qwen/Qwen3-1.7B")
    add("qwen3", _llama(2560, 9728, 36, 32, 8, vocab=151936, tie=True, head_dim=128),
        "Qwen/Qwen3-4B")
    add("qwen3", _llama(4096, 12288, 36, 32, 8, vocab=151936, head_dim=128), "Qwen/Qwen3-8B")
    add("gemma", _llama(2048, 16384, 18, 8, 1, vocab=256000, tie=True, head_dim=256),
        "google/gemma-2b", "google/gemma-2b-it", "google/gemma-1.1-2b-it")
    add("gemma", _llama(3072, 24576, 28, 16, 16, vocab=256000, tie=True, head_dim=256),
        "google/gemma-7b", "google/gemma-7b-it", "google/gemma-1.1-7b-it")
    add("gemma2", _llama(2304, 9216, 26, 8, 4, vocab=256000, tie=True, head_dim=256),
        "google/gemma-2-2b", "google/gemma-2-2b-it")
    add("gemma2", _llama(3584, 14336, 42, 16, 8, vocab=256000, tie=True, head_dim=256),
        "google/gemma-2-9b", "google/gemma-2-9b-it")
    add("phi", {"vocab_size": 51200, "hidden_size": 2048, "intermediate_size": 8192,
                "num_hidden_layers": 24, "num_attention_heads": 32,
                "partial_rotary_factor": 0.5}, "microsoft/phi-1_5", "microsoft/phi-1")
    add("phi", {"vocab_size": 51200, "hidden_size": 2560, "intermediate_size": 10240,
                "num_hidden_layers": 32, "num_attention_heads": 32,
                "partial_rotary_factor": 0.4}, "microsoft/phi-2")
    add("phi3", {**_llama(3072, 8192, 32, 32, 32, vocab=32064)},
        "microsoft/Phi-3-mini-4k-instruct")
    # T5, Flan-T5, mT5, BART
    add("t5", _t5(512, 2048, 6, 8), "t5-small", "google-t5/t5-small")
    add("t5", _t5(768, 3072, 12, 12), "t5-base", "google-t5/t5-base")
    add("t5", _t5(1024, 4096, 24, 16), "t5-large", "google-t5/t5-large")
    add("t5", _t5(1024, 16384, 24, 32, d_kv=128), "t5-3b", "google-t5/t5-3b")
    add("t5", _t5(512, 1024, 8, 6, gated=True), "google/flan-t5-small",
        "google/t5-v1_1-small")
    add("t5", _t5(768, 2048, 12, 12, gated=True), "google/flan-t5-base",
        "google/t5-v1_1-base")
    add("t5", _t5(1024, 2816, 24, 16, gated=True), "google/flan-t5-large",
        "google/t5-v1_1-large")
    add("t5", _t5(2048, 5120, 24, 32, gated=True), "google/flan-t5-xl", "google/t5-v1_1-xl")
    add("mt5", _t5(512, 1024, 8, 6, vocab=250112, gated=True), "google/mt5-small")
    add("mt5", _t5(768, 2048, 12, 12, vocab=250112, gated=True), "google/mt5-base")
    add("mt5", _t5(1024, 2816, 24, 16, vocab=250112, gated=True), "google/mt5-large")
    add("bart", _bart(768, 6, 12, 3072), "facebook/bart-base")
    add("bart", _bart(1024, 12, 16, 4096), "facebook/bart-large")
    add("bart", _bart(1024, 12, 16, 4096, num_labels=3), "facebook/bart-large-mnli")
    # Speech
    add("whisper", _whisper(384, 4, 6), "openai/whisper-tiny")
    add("whisper", _whisper(384, 4, 6, vocab=51864), "openai/whisper-tiny.en")
    add("whisper", _whisper(512, 6, 8), "openai/whisper-base")
    add("whisper", _whisper(512, 6, 8, vocab=51864), "openai/whisper-base.en")
    add("whisper", _whisper(768, 12, 12), "openai/whisper-small")
    add("whisper", _whisper(768, 12, 12, vocab=51864), "openai/whisper-small.en")
    add("whisper", _whisper(1024, 24, 16), "openai/whisper-medium")
    add("whisper", _whisper(1024, 24, 16, vocab=51864), "openai/whisper-medium.en")
    add("whisper", _whisper(1280, 32, 20), "openai/whisper-large-v2", "openai/whisper-large")
    add("whisper", _whisper(1280, 32, 20, vocab=51866, mels=128), "openai/whisper-large-v3")
    add("whisper", _whisper(1280, 32, 20, vocab=51866, mels=128, decoder_layers=4),
        "openai/whisper-large-v3-turbo")
    speech_base = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                   "intermediate_size": 3072, "feat_extract_norm": "group",
                   "do_stable_layer_norm": False, "conv_bias": False, "vocab_size": 32}
    speech_large_lv = {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16,
                       "intermediate_size": 4096, "feat_extract_norm": "layer",
                       "do_stable_layer_norm": True, "conv_bias": True, "vocab_size": 32}
    add("wav2vec2", speech_base, "facebook/wav2vec2-base", "facebook/wav2vec2-base-960h")
    add("wav2vec2", speech_large_lv, "facebook/wav2vec2-large-960h-lv60-self")
    add("hubert", speech_base, "facebook/hubert-base-ls960")
    add("hubert", speech_large_lv, "facebook/hubert-large-ls960-ft")
    add("audio-spectrogram-transformer",
        {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
         "intermediate_size": 3072, "patch_size": 16, "frequency_stride": 10,
         "time_stride": 10, "max_length": 1024, "num_mel_bins": 128, "num_labels": 527},
        "MIT/ast-finetuned-audioset-10-10-0.4593")
    # Vision
    add("vit", _vit(**_IMAGENET), "google/vit-base-patch16-224")
    add("vit", _vit(), "google/vit-base-patch16-224-in21k", "facebook/dino-vitb16")
    add("vit", _vit(image=384, **_IMAGENET), "google/vit-base-patch16-384")
    add("vit", _vit(patch=32), "google/vit-base-patch32-224-in21k")
    add("vit", _vit(1024, 24, 16, **_IMAGENET), "google/vit-large-patch16-224")
    add("vit", _vit(1024, 24, 16), "google/vit-large-patch16-224-in21k")
    add("vit", _vit(384, 12, 6), "facebook/dino-vits16")
    add("vit_mae", {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                    "intermediate_size": 3072, "patch_size": 16, "image_size": 224},
        "facebook/vit-mae-base")
    add("deit", _vit(**_IMAGENET), "facebook/deit-base-patch16-224",
        "facebook/deit-base-distilled-patch16-224")
    add("deit", _vit(384, 12, 6, **_IMAGENET), "facebook/deit-small-patch16-224",
        "facebook/deit-small-distilled-patch16-224")
    add("deit", _vit(192, 12, 3, **_IMAGENET), "facebook/deit-tiny-patch16-224",
        "facebook/deit-tiny-distilled-patch16-224")
    add("beit", {**_vit(**_IMAGENET), "vocab_size": 8192, "use_relative_position_bias": True,
                 "use_shared_relative_position_bias": False,
                 "use_absolute_position_embeddings": False, "use_mean_pooling": True,
                 "layer_scale_init_value": 0.1}, "microsoft/beit-base-patch16-224")
    add("swin", _swin(96, [2, 2, 6, 2], [3, 6, 12, 24]), "microsoft/swin-tiny-patch4-window7-224")
    add("swin", _swin(96, [2, 2, 18, 2], [3, 6, 12, 24]),
        "microsoft/swin-small-patch4-window7-224")
    add("swin", _swin(128, [2, 2, 18, 2], [4, 8, 16, 32]),
        "microsoft/swin-base-patch4-window7-224")
    add("convnext", _convnext([96, 192, 384, 768], [3, 3, 9, 3]), "facebook/convnext-tiny-224")
    add("convnext", _convnext([96, 192, 384, 768], [3, 3, 27, 3]), "facebook/convnext-small-224")
    add("convnext", _convnext([128, 256, 512, 1024], [3, 3, 27, 3]), "facebook/convnext-base-224")
    add("convnext", _convnext([192, 384, 768, 1536], [3, 3, 27, 3]),
        "facebook/convnext-large-224")
    add("resnet", {"embedding_size": 64, "hidden_sizes": [256, 512, 1024, 2048],
                   "depths": [3, 4, 6, 3], "layer_type": "bottleneck", **_IMAGENET},
        "microsoft/resnet-50")
    add("resnet", {"embedding_size": 64, "hidden_sizes": [64, 128, 256, 512],
                   "depths": [2, 2, 2, 2], "layer_type": "basic", **_IMAGENET},
        "microsoft/resnet-18")
    add("segformer", {"hidden_sizes": [32, 64, 160, 256], "depths": [2, 2, 2, 2],
                      "num_attention_heads": [1, 2, 5, 8], "decoder_hidden_size": 256,
                      "num_labels": 150}, "nvidia/segformer-b0-finetuned-ade-512-512")
    add("dinov2", _dinov2(384, 12, 6), "facebook/dinov2-small")
    add("dinov2", _dinov2(768, 12, 12), "facebook/dinov2-base")
    add("dinov2", _dinov2(1024, 24, 16), "facebook/dinov2-large")
    add("clip", _clip((512, 2048, 12, 8), (768, 3072, 12, 12), 32, 512),
        "openai/clip-vit-base-patch32")
    add("clip", _clip((512, 2048, 12, 8), (768, 3072, 12, 12), 16, 512),
        "openai/clip-vit-base-patch16")
    add("clip", _clip((768, 3072, 12, 12), (1024, 4096, 24, 16), 14, 768),
        "openai/clip-vit-large-patch14")
    add("clip", _clip((768, 3072, 12, 12), (1024, 4096, 24, 16), 14, 768, image=336),
        "openai/clip-vit-large-patch14-336")
    add("siglip", {"text_config": {"hidden_size": 768, "intermediate_size": 3072,
                                   "num_hidden_layers": 12, "num_attention_heads": 12,
                                   "vocab_size": 32000, "max_position_embeddings": 64},
                   "vision_config": {"hidden_size": 768, "intermediate_size": 3072,
                                     "num_hidden_layers": 12, "num_attention_heads": 12,
                                     "patch_size": 16, "image_size": 224}},
        "google/siglip-base-patch16-224")
    return ids


HF_IDS: dict[str, tuple[str, Config]] = _entries()
