"""NumPy image transforms against hand-computed results and torch's arithmetic; the batch form of each
transform must do to every image what the single-image form does."""
import numpy as np
import pytest
import torch

import tinygrad_edu as tg
from tinygrad_edu.data.transforms import (Compose, Normalize, RandomCrop, RandomHorizontalFlip, ToTensor,
                                          apply_batch)


def hwc_images(n=4, h=5, w=6, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w, c), dtype=np.uint8)


def test_to_tensor_hwc_uint8_to_chw_float_in_unit_range():
    images = hwc_images()
    out = ToTensor()(images[0])
    assert out.shape == (3, 5, 6) and out.dtype == np.float32 and out.flags.c_contiguous
    for c in range(3):                       # hand-computed: channel c of pixel (i, j) divided by 255
        for i in range(5):
            for j in range(6):
                assert out[c, i, j] == np.float32(images[0, i, j, c]) / np.float32(255)
    # torchvision's ToTensor is img.permute(2, 0, 1).float().div(255): bit-identical
    expected = torch.from_numpy(images[0]).permute(2, 0, 1).float().div(255).numpy()
    np.testing.assert_array_equal(out, expected)
    batch = ToTensor().batch(images)
    assert batch.shape == (4, 3, 5, 6)
    np.testing.assert_array_equal(batch, np.stack([ToTensor()(im) for im in images]))


def test_to_tensor_grey_and_float_images():
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = ToTensor()(grey)
    assert out.shape == (1, 3, 4)
    np.testing.assert_array_equal(out[0], grey.astype(np.float32) / 255)
    assert ToTensor().batch(np.stack([grey, grey])).shape == (2, 1, 3, 4)
    floats = np.random.default_rng(0).random((4, 4, 3))
    out = ToTensor()(floats)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, floats.transpose(2, 0, 1))   # floats are not rescaled
    with pytest.raises(ValueError, match=r"expected one HWC or HW image, got shape \(5,\)"):
        ToTensor()(np.zeros(5))


def test_normalize_per_channel():
    image = np.random.default_rng(0).random((3, 4, 5)).astype(np.float32)
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    out = Normalize(mean, std)(image)
    assert out.dtype == np.float32 and out.shape == image.shape
    for c in range(3):
        np.testing.assert_allclose(out[c], (image[c] - mean[c]) / std[c], rtol=1e-6)
    theirs = (torch.from_numpy(image) - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
    np.testing.assert_allclose(out, theirs.numpy(), rtol=1e-6, atol=1e-7)
    batch = np.stack([image, image * 2])
    np.testing.assert_array_equal(Normalize(mean, std).batch(batch),
                                  np.stack([Normalize(mean, std)(im) for im in batch]))
    np.testing.assert_allclose(Normalize(0.5, 0.5)(image), (image - 0.5) / 0.5)   # one value for all
    assert not np.shares_memory(out, image)


def test_normalize_errors():
    with pytest.raises(ValueError, match="division by zero"):
        Normalize((0.1, 0.2), (1.0, 0.0))
    with pytest.raises(ValueError, match="2 mean values for images with 3 channels"):
        Normalize((0.1, 0.2), (1.0, 1.0))(np.zeros((3, 2, 2)))


def test_random_crop_matches_a_hand_cut_window_of_the_padded_image():
    images = ToTensor().batch(hwc_images(n=6, h=8, w=7))               # (6, 3, 8, 7)
    crop = RandomCrop((8, 6), padding=2, generator=np.random.default_rng(5))
    out = crop.batch(images)
    assert out.shape == (6, 3, 8, 6)
    rng = np.random.default_rng(5)                                      # the same draws, by hand
    tops, lefts = rng.integers(0, 12 - 8 + 1, size=6), rng.integers(0, 11 - 6 + 1, size=6)
    padded = np.zeros((6, 3, 12, 11), np.float32)
    padded[:, :, 2:10, 2:9] = images
    for k in range(6):
        np.testing.assert_array_equal(out[k], padded[k, :, tops[k]:tops[k] + 8, lefts[k]:lefts[k] + 6])
    assert len(set(zip(tops.tolist(), lefts.tolist()))) > 1             # offsets differ per image


def test_random_crop_single_image_padding_forms_and_modes():
    image = np.arange(2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4)
    # (left/right, top/bottom) = (1, 0) with a fill value
    out = RandomCrop(4, padding=(1, 0), fill=-1.0, generator=np.random.default_rng(0))(image)
    rng = np.random.default_rng(0)
    top, left = rng.integers(0, 1, size=1)[0], rng.integers(0, 3, size=1)[0]
    padded = np.pad(image, [(0, 0), (0, 0), (1, 1)], constant_values=-1.0)
    np.testing.assert_array_equal(out, padded[:, top:top + 4, left:left + 4])
    # (left, top, right, bottom) = (2, 1, 0, 0) with edge replication
    for seed in range(6):
        out = RandomCrop(3, padding=(2, 1, 0, 0), padding_mode="edge", generator=seed)(image)
        rng = np.random.default_rng(seed)
        top, left = rng.integers(0, 5 - 3 + 1, size=1)[0], rng.integers(0, 6 - 3 + 1, size=1)[0]
        padded = np.pad(image, [(0, 0), (1, 0), (2, 0)], mode="edge")
        np.testing.assert_array_equal(out, padded[:, top:top + 3, left:left + 3])
    grey = np.arange(25, dtype=np.uint8).reshape(5, 5)
    assert RandomCrop(3)(grey).shape == (3, 3)
    with pytest.raises(ValueError, match=r"crop size \(9, 9\) is larger than the padded image size"):
        RandomCrop(9, padding=1)(grey)
    with pytest.raises(ValueError, match="unknown padding_mode"):
        RandomCrop(3, padding=1, padding_mode="wrap")


def test_random_crop_identity_when_no_room_to_move():
    images = np.random.default_rng(0).random((3, 1, 4, 4))
    np.testing.assert_array_equal(RandomCrop(4).batch(images), images)


def test_random_horizontal_flip():
    images = ToTensor().batch(hwc_images(n=16))
    np.testing.assert_array_equal(RandomHorizontalFlip(p=1.0).batch(images), images[..., ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(p=0.0).batch(images), images)
    out = RandomHorizontalFlip(p=0.5, generator=np.random.default_rng(2)).batch(images)
    flips = np.random.default_rng(2).random(16) < 0.5
    assert 0 < flips.sum() < 16
    for k in range(16):
        np.testing.assert_array_equal(out[k], images[k, :, :, ::-1] if flips[k] else images[k])
    assert not np.shares_memory(out, images)
    with pytest.raises(ValueError, match="p must be in"):
        RandomHorizontalFlip(p=1.5)


def test_random_transforms_follow_manual_seed():
    images = ToTensor().batch(hwc_images(n=8))
    augment = Compose([RandomCrop(5, padding=2), RandomHorizontalFlip()])
    tg.manual_seed(4)
    a = augment.batch(images)
    tg.manual_seed(4)
    np.testing.assert_array_equal(augment.batch(images), a)
    tg.manual_seed(5)
    assert not np.array_equal(augment.batch(images), a)


def test_compose_and_apply_batch_with_plain_functions():
    images = hwc_images(n=3)
    pipeline = Compose([ToTensor(), lambda im: im * 2, Normalize((0.5,) * 3, (0.5,) * 3)])
    batch = apply_batch(pipeline, images)
    np.testing.assert_allclose(batch, np.stack([pipeline(im) for im in images]), rtol=1e-6)
    np.testing.assert_allclose(apply_batch(lambda im: im[..., 0], images), images[..., 0])
    assert "ToTensor()" in repr(pipeline)
