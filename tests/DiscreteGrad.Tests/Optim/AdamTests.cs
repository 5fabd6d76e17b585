using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Adam = DiscreteGrad.Optim.Adam;
using AdamW = DiscreteGrad.Optim.AdamW;
using RAdam = DiscreteGrad.Optim.RAdam;
using TorchAdamState = TorchSharp.Modules.Adam.State;

namespace DiscreteGrad.Tests.Optim;

/// <summary>
/// The fused optimisers against the tensor-op ones they replace, bit for bit: the same parameters, moments and step counts
/// after every step of a small two-layer network trained on fixed random data (sizes 37 x 23 and 5 x 37, so every SIMD
/// vector loop has a scalar remainder), in float32 and float64.
/// </summary>
public class AdamTests
{
    /// <summary>W1 [37, 23], b1 [37], W2 [5, 37], b2 [5], "unused" [3] that only has a gradient in <c>useAll</c> steps, and
    /// a [300, 301] matrix (more than one chunk of the kernel, the last one partial).</summary>
    private sealed class Net
    {
        public readonly Parameter[] P;

        public Net(ScalarType dtype, bool transposedWeights = false)
        {
            var gen = new Generator(42);
            Parameter Make(long[] shape, bool transpose)
            {
                var t = torch.randn(shape, generator: gen).to(dtype) * 0.3;
                // A transposed copy holds the same values in a non-contiguous layout (the kernel does not apply to it).
                return new Parameter(transpose ? t.t().contiguous().t() : t);
            }
            P = new[]
            {
                Make(new long[] { 37, 23 }, transposedWeights), Make(new long[] { 37 }, false),
                Make(new long[] { 5, 37 }, transposedWeights), Make(new long[] { 5 }, false), Make(new long[] { 3 }, false),
                Make(new long[] { 300, 301 }, transposedWeights),
            };
            _noise = torch.randn(new long[] { 300, 301 }, generator: gen).to(dtype);
        }

        private readonly Tensor _noise;

        public Tensor Loss(Tensor x, Tensor y, bool useAll)
        {
            var h = nn.functional.linear(x, P[0], P[1]).tanh();
            var o = nn.functional.linear(h, P[2], P[3]);
            var loss = (o - y).square().mean() + 0.01 * (P[5].tanh() * _noise).sum();
            return useAll ? loss + P[4].square().sum() : loss;
        }
    }

    /// <summary>Same shape and the same bytes (so -0 differs from +0, and a NaN equals itself).</summary>
    private static bool SameBits(Tensor a, Tensor b)
    {
        using var x = a.detach().contiguous();
        using var y = b.detach().contiguous();
        return x.shape.SequenceEqual(y.shape) && x.dtype == y.dtype && x.bytes.SequenceEqual(y.bytes);
    }

    private static (Tensor X, Tensor Y) Data(ScalarType dtype)
    {
        var gen = new Generator(7);
        return (torch.randn(new long[] { 64, 23 }, generator: gen).to(dtype), torch.randn(new long[] { 64, 5 }, generator: gen).to(dtype));
    }

    /// <summary>
    /// Trains both (zero_grad, backward, step) for <paramref name="steps"/> steps and compares their parameters after each;
    /// the unused parameter gets a gradient only in even steps, so the odd ones test the zero-gradient update of a released
    /// gradient. With <paramref name="copyGradients"/>, b takes a copy of the gradients a's backward gave (in b's layout)
    /// instead of its own backward: a non-contiguous twin's own backward would compute its gradients by other BLAS calls.
    /// </summary>
    private static void Train(Net a, OptimizerHelper optA, Net b, OptimizerHelper optB, ScalarType dtype, int steps,
        Action<int>? between = null, bool copyGradients = false)
    {
        var (x, y) = Data(dtype);
        for (int t = 0; t < steps; t++)
        {
            bool useAll = t % 2 == 0;
            using (var scope = torch.NewDisposeScope())
            {
                optA.zero_grad();
                a.Loss(x, y, useAll).backward();
                optA.step();
                optB.zero_grad();
                if (copyGradients)
                {
                    for (int i = 0; i < b.P.Length; i++)
                        if (i != 4 || useAll)
                        {
                            using var g = a.P[i].grad!;
                            b.P[i].grad = torch.empty_like(b.P[i]).copy_(g);
                        }
                }
                else b.Loss(x, y, useAll).backward();
                optB.step();
            }
            for (int i = 0; i < a.P.Length; i++)
                Assert.True(SameBits(a.P[i], b.P[i]), $"step {t + 1}: parameter {i} differs (max |diff| {(a.P[i] - b.P[i]).abs().max().to(ScalarType.Float64).item<double>():E3})");
            between?.Invoke(t);
        }
    }

    [Theory]
    [InlineData(ScalarType.Float32, 0.0, false)]
    [InlineData(ScalarType.Float32, 0.05, true)]
    [InlineData(ScalarType.Float64, 0.05, false)]
    public void Adam_is_bit_identical_to_TorchSharp_Adam(ScalarType dtype, double weightDecay, bool maximize)
    {
        var a = new Net(dtype);
        var b = new Net(dtype);
        using var reference = optim.Adam(a.P, 0.01, weight_decay: weightDecay, maximize: maximize);
        using var fused = new Adam(b.P, 0.01, weight_decay: weightDecay, maximize: maximize);
        Train(a, reference, b, fused, dtype, 30, t =>
        {
            if (t == 14)
                foreach (var g in reference.ParamGroups.Concat(fused.ParamGroups)) g.LearningRate = 0.003;    // a scheduler's change
        });
        var sa = reference.state_dict().State.Cast<TorchAdamState>().ToArray();
        var sb = fused.state_dict().State.Cast<TorchAdamState>().ToArray();
        Assert.Equal(new long[] { 30, 30, 30, 30, 30, 30 }, sb.Select(s => s.step));
        for (int i = 0; i < sa.Length; i++)
        {
            Assert.Equal(sa[i].step, sb[i].step);
            Assert.True(SameBits(sa[i].exp_avg, sb[i].exp_avg), $"m of parameter {i}");
            Assert.True(SameBits(sa[i].exp_avg_sq, sb[i].exp_avg_sq), $"v of parameter {i}");
        }
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float64)]
    public void AdamW_is_bit_identical_to_TorchSharp_AdamW(ScalarType dtype)
    {
        var a = new Net(dtype);
        var b = new Net(dtype);
        using var reference = optim.AdamW(a.P, 0.01, weight_decay: 0.1);
        using var fused = new AdamW(b.P, 0.01, weight_decay: 0.1);
        Train(a, reference, b, fused, dtype, 20);
    }

    [Fact]
    public void With_AMSGrad_or_a_non_contiguous_parameter_it_runs_TorchSharps_step()
    {
        var a = new Net(ScalarType.Float32);
        var b = new Net(ScalarType.Float32);
        using var reference = optim.Adam(a.P, 0.01, amsgrad: true);
        using var fused = new Adam(b.P, 0.01, amsgrad: true);
        Train(a, reference, b, fused, ScalarType.Float32, 10);

        var c = new Net(ScalarType.Float32);
        var d = new Net(ScalarType.Float32, transposedWeights: true);
        Assert.False(d.P[0].is_contiguous());
        using var reference2 = optim.Adam(c.P, 0.01);
        using var fallback = new Adam(d.P, 0.01);
        Train(c, reference2, d, fallback, ScalarType.Float32, 10, copyGradients: true);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_closure_is_evaluated_once_before_the_update_as_by_TorchSharp(bool amsgrad)
    {
        // The closure recomputes the loss and its gradients; the update must use those gradients (amsgrad: the fallback path).
        var a = new Net(ScalarType.Float32);
        var b = new Net(ScalarType.Float32);
        using var reference = optim.Adam(a.P, 0.01, amsgrad: amsgrad);
        using var fused = new Adam(b.P, 0.01, amsgrad: amsgrad);
        var (x, y) = Data(ScalarType.Float32);
        for (int t = 0; t < 5; t++)
        {
            int calls = 0;
            Tensor Closure(Net net, OptimizerHelper opt)
            {
                calls++;
                opt.zero_grad();
                var loss = net.Loss(x, y, true);
                loss.backward();
                return loss;
            }
            var la = reference.step(() => Closure(a, reference));
            var lb = fused.step(() => Closure(b, fused));
            Assert.Equal(2, calls);
            Assert.Equal(la.item<float>(), lb.item<float>());
            for (int i = 0; i < a.P.Length; i++) Assert.True(SameBits(a.P[i], b.P[i]), $"step {t + 1}: parameter {i} differs");
        }
    }

    [Fact]
    public void Zero_grad_releases_the_gradients()
    {
        var net = new Net(ScalarType.Float32);
        using var opt = new Adam(net.P, 0.01);
        var (x, y) = Data(ScalarType.Float32);
        net.Loss(x, y, true).backward();
        Assert.All(net.P, p => Assert.NotNull(p.grad));
        opt.zero_grad();
        Assert.All(net.P, p => Assert.Null(p.grad));
    }

    [Fact]
    public void Checkpoints_move_between_TorchSharp_Adam_and_this_Adam()
    {
        string path = Path.Combine(Path.GetTempPath(), $"adam-{Guid.NewGuid():N}.bin");
        try
        {
            var a = new Net(ScalarType.Float32);
            var b = new Net(ScalarType.Float32);
            using var first = optim.Adam(a.P, 0.01);
            using var twin = optim.Adam(b.P, 0.01);
            Train(a, first, b, twin, ScalarType.Float32, 7);
            first.save_state_dict(path);

            // Resume a copy of a's parameters with this Adam from TorchSharp's checkpoint; b goes on with TorchSharp's Adam.
            var c = new Net(ScalarType.Float32);
            using (torch.no_grad())
                for (int i = 0; i < c.P.Length; i++) c.P[i].copy_(a.P[i]);
            using var resumed = new Adam(c.P, 0.01);
            resumed.load_state_dict(path);
            Assert.All(resumed.state_dict().State.Cast<TorchAdamState>(), s => Assert.Equal(7, s.step));
            Train(b, twin, c, resumed, ScalarType.Float32, 8);

            // And back: this Adam's checkpoint into TorchSharp's Adam.
            resumed.save_state_dict(path);
            var d = new Net(ScalarType.Float32);
            using (torch.no_grad())
                for (int i = 0; i < d.P.Length; i++) d.P[i].copy_(c.P[i]);
            using var back = optim.Adam(d.P, 0.01);
            back.load_state_dict(path);
            Train(c, resumed, d, back, ScalarType.Float32, 5);
        }
        finally { File.Delete(path); }
    }

    [Theory]
    [InlineData(ScalarType.Float32, 0.0, false)]
    [InlineData(ScalarType.Float32, 0.01, false)]
    [InlineData(ScalarType.Float32, 0.01, true)]
    [InlineData(ScalarType.Float64, 0.01, true)]
    public void RAdam_fused_step_is_bit_identical_to_its_tensor_op_step_across_the_rectification_threshold(
        ScalarType dtype, double weightDecay, bool decoupled)
    {
        // The transposed twin's weights are non-contiguous, so its RAdam runs the tensor-op path; steps 1-5 are
        // un-rectified (beta2 = 0.999), 6-12 rectified.
        var a = new Net(dtype);
        var b = new Net(dtype, transposedWeights: true);
        using var fused = new RAdam(a.P, 0.01, weightDecay: weightDecay, decoupledWeightDecay: decoupled);
        using var tensorOps = new RAdam(b.P, 0.01, weightDecay: weightDecay, decoupledWeightDecay: decoupled);
        Train(a, fused, b, tensorOps, dtype, 12, copyGradients: true);
        Assert.Equal(12, fused.StepCount(a.P[0]));
        // The parameter with a gradient in the even steps only is updated in every step (with a zero gradient in the odd ones).
        Assert.Equal(12, fused.StepCount(a.P[4]));
    }
}
