"""Lab 3: an MLP in NumPy — linear and ReLU layers with their gradients, a numerically stable
cross-entropy, SGD with momentum and Adam exactly as torch.optim defines them, and a training loop that
reaches 97% on MNIST."""
from ..lab import Lab, Task

LAB = Lab(
    number=3,
    name="mlp_optimizers",
    title="an MLP in NumPy: layers, stable cross-entropy, SGD with momentum and Adam, trained on MNIST",
    student_file="mlp.py",
    tutorial="tutorials/03_mlp_and_optimizers.py",
    time_limit_s=120.0,
    tasks=(
        Task("linear", "the linear layer y = x W^T + b, forward and backward",
             "forward x @ w.T (+ b); backward dx = g @ w, dw = g.T @ x, db = g summed over the batch"),
        Task("relu", "ReLU forward and backward",
             "max(x, 0); the gradient passes where x > 0 only (0 at x == 0, as torch)"),
        Task("cross_entropy", "mean cross-entropy of the logits, computed stably, and its gradient",
             "subtract each row's max before exp; loss = mean of -log_softmax at the label; "
             "gradient (softmax - onehot) / N"),
        Task("optimizers", "SGD with momentum and weight decay, and Adam, as torch.optim",
             "g += wd * p; SGD: b = g on the first step, then b = mu * b + g; Adam: bias-corrected "
             "m and v; update every parameter IN PLACE (p -= ...)"),
        Task("train", "one epoch of minibatch training, and the accuracy",
             "order = rng.permutation(N); batches of batch_size in that order (the last may be "
             "smaller); forward, cross_entropy, backward, optimizer.step(grads)"),
    ),
)
