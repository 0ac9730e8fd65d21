"""The pictures of tinygrad_edu.explain.render: heatmaps for grey and colour images, token pages that
escape their text, terminal lines, and the top features."""
import numpy as np
import pytest

from tinygrad_edu.explain import render

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("channels", [1, 3])
def test_a_heatmap_is_written_for_grey_and_colour_images(tmp_path, channels):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (32, 32, channels)).astype(np.float32)
    attribution = rng.normal(size=(channels, 32, 32))
    path = render.save_heatmap(pixels, attribution, str(tmp_path / "sub" / "map.png"), title="a title")
    assert (tmp_path / "sub" / "map.png").read_bytes()[:8] == PNG_MAGIC and path.endswith("map.png")
    assert not list((tmp_path / "sub").glob(".*.tmp"))              # written atomically, nothing left over
    render.save_heatmap(pixels, np.abs(attribution), str(tmp_path / "unsigned.png"))
    assert (tmp_path / "unsigned.png").read_bytes()[:8] == PNG_MAGIC


def test_image_map_sums_the_channels_and_names_bad_shapes():
    a = np.arange(2 * 3 * 4, dtype=np.float64).reshape(2, 3, 4)
    np.testing.assert_array_equal(render.image_map(a), a.sum(0))
    np.testing.assert_array_equal(render.image_map(a[None]), a.sum(0))
    with pytest.raises(ValueError, match=r"shape \(C, H, W\) or \(H, W\), got \(5,\)"):
        render.image_map(np.ones(5))


def test_top_features_orders_by_magnitude_with_sign_and_keeps_ties_in_order():
    scores = np.array([0.1, -3.0, 2.0, -2.0])
    assert render.top_features(scores, list("abcd"), k=3) == [("b", -3.0), ("c", 2.0), ("d", -2.0)]
    assert render.pixel_names(2, 2)[3] == "(row 1, col 1)"
    with pytest.raises(ValueError, match="4 scores for 3 names"):
        render.top_features(scores, list("abc"))


def test_the_token_page_escapes_text_and_colours_by_sign():
    page = render.tokens_html([("<caption>", ["<b>", "ok"], np.array([1.0, -0.5]))], title="t & t")
    assert "&lt;b&gt;" in page and "<b>" not in page.replace("&lt;b&gt;", "")
    assert "&lt;caption&gt;" in page and "t &amp; t" in page
    assert "rgba(220, 40, 40, 0.850)" in page                    # the largest positive: full red
    assert "rgba(40, 90, 220, 0.425)" in page                    # half as large, negative: half blue


def test_the_terminal_line_has_scores_without_colour_and_ansi_backgrounds_with():
    assert render.tokens_terminal(["good", "bad"], [0.5, -0.25], colour=False) == "good[+0.50] bad[-0.25]"
    line = render.tokens_terminal(["good", "bad"], [0.5, -0.25], colour=True)
    assert line.count("\x1b[48;2;") == 2 and "\x1b[48;2;255;55;55m" in line and line.endswith("\x1b[0m")
