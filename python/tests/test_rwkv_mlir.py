"""pytest for the rwkv_mlir package: the tiny trained RWKV-7 of rwkv.cpp
through compile → load → sessions, state, tokenizers, generation, errors."""

import os
from pathlib import Path

import numpy as np
import pytest

import rwkv_mlir as rm

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("RWKV_SHARED_DATA", ROOT.parent / "shared" / "data"))
TINY = DATA / "rwkvcpp-tiny"
W7 = TINY / "tiny-rwkv-7v0-834K-FP32.bin"
W4 = TINY / "tiny-rwkv-4v0-660K-FP32.bin"
PROMPT = [34, 105, 110]  # the bytes of '"in', rwkv.cpp's test prompt

needs_data = pytest.mark.skipif(
    not W7.exists(), reason=f"{TINY} not found (the tiny checkpoints of ../shared/data)")


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    return rm.compile(ROOT / "specs" / "rwkvcpp-tiny-7v0.toml",
                      tmp_path_factory.mktemp("tiny7") / "art")


@pytest.fixture(scope="module")
def model(artifact):
    if not W7.exists():
        pytest.skip(f"{TINY} not found (the tiny checkpoints of ../shared/data)")
    return rm.load(artifact, W7)


@needs_data
def test_forward_reproduces_rwkv_cpp(model):
    assert (model.name, model.n_layer, model.d_model, model.vocab_size) == \
        ("rwkvcpp-tiny-7v0", 12, 64, 256)
    expected = np.fromfile(TINY / "expected-logits-7v0-834K.bin", dtype="<f4")
    logits = model.session().forward(PROMPT)
    assert logits.shape == (3, 256) and logits.dtype == np.float32
    assert np.abs(logits[-1] - expected).max() < 1e-4


@needs_data
def test_every_position_in_both_forms(model):
    tokens = list(b"The quick brown fox jumps over the lazy dog.")
    rec = model.session(mode="recurrent").forward(tokens)
    par = model.session(mode="parallel").forward(tokens)
    assert rec.shape == par.shape == (len(tokens), 256)
    assert np.abs(rec - par).max() < 1e-5
    # Row t is the prediction after tokens[:t + 1].
    for t in (0, 7, len(tokens) - 1):
        last = model.session().forward(tokens[: t + 1], all_logits=False)
        assert np.abs(last - rec[t]).max() < 1e-5


@needs_data
def test_state_get_set_save_load(model, tmp_path):
    s = model.session()
    s.forward(PROMPT)
    saved = s.state
    assert saved.dtype == np.float32 and saved.ndim == 1 and np.any(saved != 0)
    after = s.forward([32, 116], all_logits=False)
    s.state = saved
    assert np.array_equal(s.forward([32, 116], all_logits=False), after)
    s.state = saved
    s.save_state(tmp_path / "s.state")
    other = model.session()
    other.load_state(tmp_path / "s.state")
    assert np.array_equal(other.state, saved)
    s.reset()
    assert not np.any(s.state != model.session().state)
    with pytest.raises(ValueError, match="this session's state has"):
        s.state = saved[:-1]


@needs_data
def test_pip_style_forward(model):
    whole, _ = model.forward(PROMPT, None)
    head, state = model.forward(PROMPT[:2], None)
    tail, _ = model.forward(PROMPT[2:], state)
    assert np.abs(tail - whole).max() < 1e-6
    assert head.shape == (256,)


@needs_data
def test_batch_rows_match_single_sequences(model):
    a, b = list(b"hello world"), list(b"RWKV is an ")
    both = model.session(batch=2).forward([a, b])
    assert both.shape == (2, len(a), 256)
    assert np.abs(both[0] - model.session().forward(a)).max() < 1e-5
    assert np.abs(both[1] - model.session().forward(b)).max() < 1e-5
    with pytest.raises(ValueError, match=r"tokens must be \[2, T\]"):
        model.session(batch=2).forward(a)


def test_synthetic_weights_need_no_checkpoint(artifact):
    m = rm.load(artifact)
    logits = m.session().forward(PROMPT)
    assert logits.shape == (3, 256) and np.all(np.isfinite(logits))
    other = rm.load(artifact, synthetic_seed=1).session().forward(PROMPT)
    assert not np.array_equal(logits, other)


def test_profile_table(model):
    s = model.session(mode="recurrent")
    s.set_profile()
    s.forward([1, 2, 3])
    rows = {line.split()[0]: line.split() for line in s.profile().splitlines()}
    assert rows["embed"][2] == "3"            # calls
    assert rows["channel_mix_0"][2] == str(3 * 12)
    assert float(rows["channel_mix_0"][6]) > 0  # MB per call
    s.set_profile()
    assert "embed" not in s.profile()


def test_tokenizers():
    tb = rm.Tokenizer.bytes()
    assert tb.encode("hé") == [104, 0xC3, 0xA9] and tb.decode([104, 0xC3, 0xA9]) == "hé"
    assert rm.Tokenizer.bytes(1).encode(b"\x00") == [1]
    vocab = DATA / "rwkv-tokenizers" / "rwkv_vocab_v20230424.txt"
    if not vocab.exists():
        pytest.skip(f"{vocab} not found")
    world = rm.Tokenizer.world(vocab)
    assert world.vocab_size == 65530
    text = "Hello, 世界! RWKV-7 \"Goose\"\n"
    ids = world.encode(text)
    assert world.decode(ids) == text and len(ids) < len(text.encode())
    assert world.encode("\n\n") == [261]  # one token in the World vocab


@needs_data
def test_generate_greedy_and_stop_strings(model):
    tok = rm.Tokenizer.bytes()
    first = rm.generate(model.session(), tok, "The ", 30, temperature=0)
    again = rm.generate(model.session(), tok, "The ", 30, temperature=0)
    assert first == again and len(first) == 30
    word = first.split()[1]
    streamed = []
    cut = rm.generate(model.session(), tok, "The ", 30, temperature=0,
                      stop=[" " + word], callback=streamed.append)
    assert cut == first[: first.index(" " + word)]
    assert "".join(streamed) == cut
    sampled = rm.generate(model.session(), tok, "The ", 30, temperature=1.0, seed=7)
    assert sampled == rm.generate(model.session(), tok, "The ", 30, temperature=1.0, seed=7)


def test_errors_name_the_file(artifact, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[model]\nname = 3\n")
    with pytest.raises(rm.RwkvError, match="bad.toml"):
        rm.compile(bad, tmp_path / "never")
    with pytest.raises(rm.RwkvError, match="nope.bin") as err:
        rm.load(artifact, tmp_path / "nope.bin")
    assert err.value.status == "IO"
    if W7.exists():
        truncated = tmp_path / "short.bin"
        truncated.write_bytes(W7.read_bytes()[:100000])
        with pytest.raises(rm.RwkvError, match="short.bin") as err:
            rm.load(artifact, truncated)
        assert err.value.status == "FORMAT"
        with pytest.raises(rm.RwkvError, match="4v0") as err:
            rm.load(artifact, W4)
        assert err.value.status == "MISMATCH"
    s = rm.load(artifact).session()
    with pytest.raises(rm.RwkvError, match="300") as err:
        s.forward([300])
    assert err.value.status == "ARGUMENT"
    with pytest.raises(ValueError, match="mode must be one of"):
        s.mode = "fast"
