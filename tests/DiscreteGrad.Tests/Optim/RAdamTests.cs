using RAdam = DiscreteGrad.Optim.RAdam;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Optim;

public class RAdamTests
{
    private static readonly double[] P0 = { 0.5, -1.2, 2.0, 0.03 };
    private static readonly double[] A = { 1.0, 3.0, 0.5, 2.0 };      // loss = sum(a p^2) / 2 + b . p, gradient a p + b
    private static readonly double[] B = { 0.2, -0.1, 0.4, -1.0 };

    /// <summary>The published update (PyTorch's torch.optim.RAdam) in plain doubles.</summary>
    private static List<double[]> Hand(int steps, double lr, double beta1, double beta2, double eps, double lambda, bool decoupled)
    {
        var p = (double[])P0.Clone();
        var m = new double[p.Length];
        var v = new double[p.Length];
        var trajectory = new List<double[]>();
        double rhoInf = 2 / (1 - beta2) - 1;
        for (int t = 1; t <= steps; t++)
        {
            var g = p.Select((x, i) => A[i] * x + B[i]).ToArray();
            for (int i = 0; i < p.Length; i++)
            {
                if (lambda != 0)
                {
                    if (decoupled) p[i] *= 1 - lr * lambda;
                    else g[i] += lambda * p[i];
                }
                m[i] = beta1 * m[i] + (1 - beta1) * g[i];
                v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
            }
            double bc1 = 1 - Math.Pow(beta1, t), bc2 = 1 - Math.Pow(beta2, t);
            double rho = rhoInf - 2 * t * Math.Pow(beta2, t) / bc2;
            for (int i = 0; i < p.Length; i++)
            {
                double mHat = m[i] / bc1;
                if (rho > 5)
                {
                    double r = Math.Sqrt((rho - 4) * (rho - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rho));
                    p[i] -= lr * mHat * r * Math.Sqrt(bc2) / (Math.Sqrt(v[i]) + eps);
                }
                else p[i] -= lr * mHat;
            }
            trajectory.Add((double[])p.Clone());
        }
        return trajectory;
    }

    private static Parameter Param(double[] values) => new(tensor(values, dtype: ScalarType.Float64));

    private static void Step(OptimizerHelper opt, Parameter p)
    {
        opt.zero_grad();
        var loss = (tensor(A, dtype: ScalarType.Float64) * p.square()).sum() / 2 + (tensor(B, dtype: ScalarType.Float64) * p).sum();
        loss.backward();
        opt.step();
    }

    [Theory]
    [InlineData(0.0, false)]
    [InlineData(0.1, false)]
    [InlineData(0.1, true)]
    public void Follows_the_published_update_in_float64_before_and_after_rectification(double lambda, bool decoupled)
    {
        const int steps = 12;
        const double lr = 0.05, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
        var p = Param(P0);
        using var opt = new RAdam(new[] { p }, lr, beta1, beta2, eps, lambda, decoupled);
        var hand = Hand(steps, lr, beta1, beta2, eps, lambda, decoupled);
        for (int t = 0; t < steps; t++)
        {
            Step(opt, p);
            TorchAssert.Close(hand[t], p, 1e-14, $"step {t + 1}");
            Assert.Equal(t + 1, opt.StepCount(p));
        }
        // The first five steps are un-rectified momentum steps (rho_t <= 5 for beta2 = 0.999), the rest rectified.
        Assert.All(Enumerable.Range(1, 5), t => Assert.Null(RAdam.Rectification(t, beta2)));
        Assert.All(Enumerable.Range(6, steps - 5), t => Assert.NotNull(RAdam.Rectification(t, beta2)));
    }

    [Fact]
    public void Rho_and_rectification_match_their_closed_forms()
    {
        // beta2 = 0.999: rho_inf = 1999, rho_1 = 1999 - 2 * 0.999 / 0.001 = 1.
        Assert.Equal(1999, RAdam.RhoInfinity(0.999), 9);
        Assert.Equal(1, RAdam.Rho(1, 0.999), 9);
        double rho6 = RAdam.Rho(6, 0.999);
        Assert.InRange(rho6, 5, 6);
        Assert.InRange(RAdam.Rho(5, 0.999), 4, 5);
        Assert.Equal(Math.Sqrt((rho6 - 4) * (rho6 - 2) * 1999 / (1995.0 * 1997 * rho6)), RAdam.Rectification(6, 0.999)!.Value, 12);
        // r_t -> 1 as t -> infinity.
        Assert.Equal(1, RAdam.Rectification(1_000_000, 0.999)!.Value, 9);
    }

    /// <summary>
    /// TorchSharp 0.107's torch.optim.RAdam against this one on a linear loss (constant gradient, so both keep identical
    /// moments whatever their parameters): the un-rectified steps agree, every rectified step of TorchSharp is lr times
    /// ours, i.e. it applies the learning rate twice.
    /// </summary>
    [Fact]
    public void TorchSharp_RAdam_applies_the_learning_rate_twice_once_rectified()
    {
        const double lr = 0.01;
        var c = tensor(new[] { 0.7, -0.2, 1.5 }, dtype: ScalarType.Float64);
        var ours = Param(new[] { 0.0, 0.0, 0.0 });
        var theirs = Param(new[] { 0.0, 0.0, 0.0 });
        using var a = new RAdam(new[] { ours }, lr);
        using var b = optim.RAdam(new[] { theirs }, lr);
        for (int t = 1; t <= 10; t++)
        {
            var before = (ours.detach().clone(), theirs.detach().clone());
            foreach (var (opt, p) in new (OptimizerHelper, Parameter)[] { (a, ours), (b, theirs) })
            {
                opt.zero_grad();
                (c * p).sum().backward();
                opt.step();
            }
            var dOurs = TorchAssert.ToArray(ours - before.Item1);
            var dTheirs = TorchAssert.ToArray(theirs - before.Item2);
            double factor = t <= 5 ? 1 : lr;
            for (int i = 0; i < 3; i++)
                Assert.True(Math.Abs(dTheirs[i] - factor * dOurs[i]) <= 1e-12 * Math.Abs(dOurs[i]),
                    $"step {t}, coordinate {i}: TorchSharp moved {dTheirs[i]:R}, ours {dOurs[i]:R}");
        }
    }

    [Fact]
    public void Saved_state_resumes_the_same_trajectory_across_the_rectification_threshold()
    {
        string path = Path.Combine(Path.GetTempPath(), $"radam-{Guid.NewGuid():N}.bin");
        try
        {
            var p = Param(P0);
            using var opt = new RAdam(new[] { p }, 0.05, weightDecay: 0.01);
            for (int t = 0; t < 4; t++) Step(opt, p);
            opt.save_state_dict(path);
            var saved = p.detach().clone();
            for (int t = 0; t < 4; t++) Step(opt, p);          // steps 5..8: un-rectified, then rectified

            var q = Param(TorchAssert.ToArray(saved));
            using var resumed = new RAdam(new[] { q }, 0.05, weightDecay: 0.01);
            resumed.load_state_dict(path);
            Assert.Equal(4, resumed.StepCount(q));
            for (int t = 0; t < 4; t++) Step(resumed, q);
            Assert.True((p == q).all().item<bool>(), "resumed trajectory differs");
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Groups_keep_their_own_learning_rate_and_parameters_without_gradient_stay()
    {
        var p = Param(new[] { 1.0 });
        var q = Param(new[] { 1.0 });
        var idle = Param(new[] { 1.0 });
        using var opt = new RAdam(new[]
        {
            new RAdam.ParamGroup(new[] { p }),
            new RAdam.ParamGroup(new[] { q }, new RAdam.Options { LearningRate = 0.5 }),
            new RAdam.ParamGroup(new[] { idle }),
        }, lr: 0.1);
        opt.zero_grad();
        (p + q).sum().backward();
        opt.step();
        // Step 1: m_hat = g = 1, un-rectified: p -= lr.
        Assert.Equal(0.9, p.item<double>(), 15);
        Assert.Equal(0.5, q.item<double>(), 15);
        Assert.Equal(1.0, idle.item<double>());
        Assert.Equal(0, opt.StepCount(idle));
        Assert.Equal(new[] { 0.1, 0.5, 0.1 }, opt.ParamGroups.Select(g => g.LearningRate));
    }

    [Fact]
    public void Invalid_hyperparameters_throw()
    {
        var p = Param(new[] { 1.0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new RAdam(new[] { p }, lr: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RAdam(new[] { p }, beta1: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RAdam(new[] { p }, beta2: -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RAdam(new[] { p }, eps: double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RAdam(new[] { p }, weightDecay: -1));
    }
}
