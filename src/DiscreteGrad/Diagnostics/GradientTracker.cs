using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Diagnostics;

/// <summary>Size of the gradient of the loss with respect to one tracked tensor x.</summary>
/// <param name="Name">The name the tensor was tracked under.</param>
/// <param name="MeanAbsolute">mean_i |dL/dx_i| (0 when no gradient reached x).</param>
/// <param name="L2Norm">||dL/dx||_2 = sqrt(sum_i (dL/dx_i)^2) (0 when no gradient reached x).</param>
/// <param name="Elements">Number of elements of x.</param>
/// <param name="HasGradient">False when the backward pass did not reach x (its gradient is undefined).</param>
public sealed record GradientStatistics(string Name, double MeanAbsolute, double L2Norm, long Elements, bool HasGradient);

/// <summary>
/// Records the gradient of the loss with respect to chosen intermediate tensors of a model, for diagnostics such as
/// Figure 6 of David Friede and Mathias Niepert, "Efficient Learning of Discrete-Continuous Computation Graphs"
/// (NeurIPS 2021): the mean absolute gradient of the loss with respect to the node states of each message-passing round,
/// which shows how much signal reaches the early rounds through a chain of discrete components.
/// <para>Use: during the forward pass the model calls <see cref="Track"/> on each tensor of interest (for example
/// <c>tracker.Track("round1", x)</c>); after <c>loss.backward()</c> <see cref="Statistics(string)"/> returns
/// mean |dL/dx| and ||dL/dx||_2 of each. <see cref="Clear"/> releases the tensors before the next forward pass.</para>
/// <para>Tracking calls <c>retain_grad()</c> on the tensor, so autograd stores dL/dx on it during backward (non-leaf
/// tensors otherwise drop their gradient), and takes its handle out of the caller's DisposeScope, so that the tensor
/// outlives the model's forward pass: the tracker owns it from then on (the caller must not dispose it) and disposes it
/// in <see cref="Clear"/>. Tensors that do not require grad (a no_grad or evaluation pass) are not tracked. Like a leaf's
/// <c>.grad</c>, the stored gradient accumulates over backward passes through the same graph (and libtorch also adds to it
/// when <c>torch.autograd.grad</c> differentiates through the tensor), so track, run one backward, read, then clear.</para>
/// </summary>
public sealed class GradientTracker : IDisposable
{
    private readonly List<(string Name, Tensor Tensor)> _tracked = new();

    /// <summary>When false, <see cref="Track"/> records nothing (and costs nothing).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Names tracked since the last <see cref="Clear"/>, in tracking order.</summary>
    public IReadOnlyList<string> Names => _tracked.Select(t => t.Name).ToList();

    /// <summary>
    /// Tracks <paramref name="x"/> under <paramref name="name"/> and returns it unchanged (so a model can write
    /// <c>x = tracker.Track("round1", x)</c>). Does nothing when <see cref="Enabled"/> is false or x does not require grad.
    /// </summary>
    /// <exception cref="ArgumentException">The name is empty or already tracked since the last <see cref="Clear"/>.</exception>
    public Tensor Track(string name, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (string.IsNullOrEmpty(name)) throw new ArgumentException("name must be a non-empty string.", nameof(name));
        if (!Enabled || !x.requires_grad) return x;
        if (_tracked.Any(t => t.Name == name))
            throw new ArgumentException($"'{name}' is already tracked; call Clear() before the next forward pass.", nameof(name));
        x.retain_grad();
        x.DetachFromDisposeScope();
        _tracked.Add((name, x));
        return x;
    }

    /// <summary>Whether <paramref name="name"/> is tracked.</summary>
    public bool Contains(string name) => _tracked.Any(t => t.Name == name);

    /// <summary>
    /// The tracked tensor x itself (owned by the tracker until <see cref="Clear"/>), e.g. as an input of
    /// <c>torch.autograd.grad</c>.
    /// </summary>
    /// <exception cref="KeyNotFoundException">The name is not tracked.</exception>
    public Tensor Tracked(string name) => Find(name);

    /// <summary>
    /// A copy of dL/dx of the tracked tensor (float64, on the CPU, in the caller's DisposeScope), or null when no gradient
    /// reached it.
    /// </summary>
    /// <exception cref="KeyNotFoundException">The name is not tracked.</exception>
    public Tensor? Gradient(string name)
    {
        var x = Find(name);
        using var scope = torch.NewDisposeScope();
        var g = x.grad;
        return g is null ? null : scope.MoveToOuter(g.detach().to(ScalarType.Float64).cpu().clone());
    }

    /// <summary>mean |dL/dx| and ||dL/dx||_2 of the tensor tracked as <paramref name="name"/>, computed in float64.</summary>
    /// <exception cref="KeyNotFoundException">The name is not tracked.</exception>
    public GradientStatistics Statistics(string name)
    {
        var x = Find(name);
        long n = x.numel();
        using var scope = torch.NewDisposeScope();
        var g = x.grad;
        if (g is null) return new GradientStatistics(name, 0, 0, n, false);
        var g64 = g.detach().to(ScalarType.Float64);
        return new GradientStatistics(name, g64.abs().mean().item<double>(), g64.square().sum().sqrt().item<double>(), n, true);
    }

    /// <summary>The statistics of every tracked tensor, in tracking order.</summary>
    public IReadOnlyList<GradientStatistics> Statistics() => _tracked.Select(t => Statistics(t.Name)).ToList();

    /// <summary>Disposes the tracked tensors and forgets their names (call it before the next forward pass).</summary>
    public void Clear()
    {
        foreach (var (_, t) in _tracked) t.Dispose();
        _tracked.Clear();
    }

    /// <summary>Same as <see cref="Clear"/>.</summary>
    public void Dispose() => Clear();

    private Tensor Find(string name)
    {
        foreach (var (n, t) in _tracked)
            if (n == name) return t;
        throw new KeyNotFoundException($"'{name}' is not tracked (tracked: {string.Join(", ", Names)}).");
    }
}
