"""Small helpers shared by the image models: the default image size and the input check."""


def default_input_size(in_channels):
    """The image side the small models assume when ``input_size`` is not given: 28 for one
    channel (MNIST), 32 otherwise (CIFAR-10)."""
    return 28 if in_channels == 1 else 32


def check_image_input(model, x, in_channels, input_size):
    """Raise a clear error unless ``x`` is ``(N, in_channels, input_size, input_size)`` (models
    whose first Linear layer depends on the image size)."""
    shape = tuple(x.shape)
    if len(shape) != 4 or shape[1] != in_channels or shape[2:] != (input_size, input_size):
        raise ValueError(f"{type(model).__name__}: expected input of shape (N, {in_channels}, "
                         f"{input_size}, {input_size}), got {shape}; build the model with "
                         f"in_channels=/input_size= matching your images")
