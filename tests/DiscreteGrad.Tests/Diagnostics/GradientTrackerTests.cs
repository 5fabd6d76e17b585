using DiscreteGrad.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Diagnostics;

public class GradientTrackerTests
{
    /// <summary>
    /// A toy chain of two "rounds" with a discrete-like bottleneck (a softmax over 4 categories and a centroid embedding),
    /// built inside its own DisposeScope as a model's forward pass would be.
    /// </summary>
    private static (Tensor Loss, Tensor Round1, Tensor Round2) Toy(Tensor x, Tensor w1, Tensor c, Tensor w2, GradientTracker? tracker)
    {
        using var scope = NewDisposeScope();
        var r1 = (x.matmul(w1)).tanh();
        tracker?.Track("round1", r1);
        var z = (r1.matmul(c.t()) / 0.5).softmax(-1);
        var r2 = z.matmul(c) + r1 * 0.3;
        tracker?.Track("round2", r2);
        var loss = (r2.matmul(w2)).pow(2).sum() + r1.sum();
        return (scope.MoveToOuter(loss), scope.MoveToOuter(r1), scope.MoveToOuter(r2));
    }

    private static (Tensor X, Tensor W1, Tensor C, Tensor W2) Inputs()
    {
        var g = new Generator(11);
        return (randn(new long[] { 5, 3 }, dtype: ScalarType.Float64, generator: g).requires_grad_(true),
            randn(new long[] { 3, 6 }, dtype: ScalarType.Float64, generator: g).requires_grad_(true),
            randn(new long[] { 4, 6 }, dtype: ScalarType.Float64, generator: g).requires_grad_(true),
            randn(new long[] { 6, 2 }, dtype: ScalarType.Float64, generator: g).requires_grad_(true));
    }

    [Fact]
    public void Tracked_gradients_and_statistics_equal_autograd_grad_exactly()
    {
        var (x, w1, c, w2) = Inputs();
        // The same graph twice from the same inputs: once differentiated directly, once tracked and run backward. (Not one
        // graph for both: autograd.grad also fills the gradient that retain_grad() keeps, so it would count twice.)
        var (directLoss, d1, d2) = Toy(x, w1, c, w2, null);
        var direct = autograd.grad(new[] { directLoss }, new[] { d1, d2 });
        using var tracker = new GradientTracker();
        var (loss, _, _) = Toy(x, w1, c, w2, tracker);
        loss.backward();

        Assert.Equal(new[] { "round1", "round2" }, tracker.Names);
        foreach (var (name, expected) in new[] { ("round1", direct[0]), ("round2", direct[1]) })
        {
            var got = tracker.Gradient(name)!;
            Assert.True((got == expected).all().item<bool>(), $"{name}: tracked gradient differs from autograd.grad by {(got - expected).abs().max().item<double>():R}");
            var s = tracker.Statistics(name);
            Assert.True(s.HasGradient);
            Assert.Equal(expected.numel(), s.Elements);
            Assert.Equal(expected.abs().mean().item<double>(), s.MeanAbsolute);
            Assert.Equal(expected.square().sum().sqrt().item<double>(), s.L2Norm);
        }
        Assert.Equal(new[] { "round1", "round2" }, tracker.Statistics().Select(s => s.Name));
    }

    [Fact]
    public void Tracked_tensors_outlive_the_scope_of_the_forward_pass()
    {
        var (x, w1, c, w2) = Inputs();
        using var tracker = new GradientTracker();
        Tensor loss;
        using (var outer = NewDisposeScope())
        {
            var (l, _, _) = Toy(x, w1, c, w2, tracker);
            loss = outer.MoveToOuter(l);
        }
        loss.backward();
        // r1 feeds the loss through r2 and directly (+ sum r1): its gradient is defined, finite and non-zero.
        var s = tracker.Statistics("round1");
        Assert.True(s.HasGradient && s.MeanAbsolute > 0 && double.IsFinite(s.L2Norm));
    }

    [Fact]
    public void A_tensor_the_loss_does_not_reach_has_no_gradient()
    {
        var a = randn(3, dtype: ScalarType.Float64).requires_grad_(true);
        using var tracker = new GradientTracker();
        var used = tracker.Track("used", a * 2);
        var unused = tracker.Track("unused", a * 3);
        used.sum().backward();
        Assert.Equal(new GradientStatistics("unused", 0, 0, 3, false), tracker.Statistics("unused"));
        Assert.Null(tracker.Gradient("unused"));
        // d(sum(2a))/d(2a) = 1 everywhere.
        Assert.Equal(new GradientStatistics("used", 1, Math.Sqrt(3), 3, true), tracker.Statistics("used"));
        GC.KeepAlive(unused);
    }

    [Fact]
    public void Nothing_is_tracked_without_grad_or_when_disabled()
    {
        var a = randn(3).requires_grad_(true);
        using var tracker = new GradientTracker();
        using (no_grad()) tracker.Track("no_grad", a * 2);
        tracker.Enabled = false;
        tracker.Track("disabled", a * 2);
        Assert.Empty(tracker.Names);
    }

    [Fact]
    public void Names_are_unique_until_cleared_and_unknown_names_throw()
    {
        var a = randn(3).requires_grad_(true);
        using var tracker = new GradientTracker();
        tracker.Track("x", a * 2);
        Assert.Throws<ArgumentException>(() => tracker.Track("x", a * 3));
        Assert.Throws<ArgumentException>(() => tracker.Track("", a * 3));
        Assert.Throws<KeyNotFoundException>(() => tracker.Statistics("y"));
        tracker.Clear();
        Assert.False(tracker.Contains("x"));
        tracker.Track("x", a * 3);
        Assert.True(tracker.Contains("x"));
    }
}
