using DiscreteGrad.Estimators;
using DiscreteGrad.Layers;
using DiscreteGrad.Schedules;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Layers;

/// <summary>The training loop of docs/guide/dccg-schemes.md, compiled and run here; a test keeps the page in step with this code.</summary>
[Collection(GlobalGenerator.Name)]
public class DccgGuideTests
{
    private static (DiscreteContinuousComponent Component, TempMatchSchedule Beta, LinearSchedule Alpha) Guide()
    {
        // GUIDE:begin
        var gen = new Generator(seed: 1);
        // u -> theta = g(u) -> z -> v = h(z), with DropRes residuals, trained through the Gumbel-softmax relaxation.
        var component = discrete.DiscreteContinuousComponent(inputSize: 84, categories: 19, outputSize: 84, EstimatorKind.GumbelSoftmax,
            new EstimatorOptions(Tau: 8.0, Beta: 0.0), DropResMode.PerBatch, gen);
        // TempMatch: beta_t = tau (1 - exp(-gamma t)); DropRes: alpha_t = min(1, t / 500); t counts schedule updates.
        var beta = new TempMatchSchedule(tau: 8.0, gamma: 0.008);
        var alpha = new LinearSchedule(start: 0, end: 1, increment: 1.0 / 500);
        var optimizer = optim.Adam(component.parameters(), lr: 1e-4);
        for (int step = 0; step < 100; step++)
        {
            if (step % 25 == 0)                                   // schedule updates spread over the epoch (MNIST addition: 8 per epoch)
            {
                component.Node.Beta = beta.Value;
                component.Alpha = alpha.Value;
                beta.Advance();
                alpha.Advance();
            }
            using var scope = NewDisposeScope();
            var u = randn(new long[] { 16, 84 }, generator: gen);
            var loss = (component.forward(u) - u).pow(2).mean();  // any loss of v
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
        }
        component.eval();                                         // evaluation: a hard argmax and no residual
        // GUIDE:end
        return (component, beta, alpha);
    }

    [Fact]
    public void The_guide_loop_applies_the_schedule_values_of_t_0_to_3_and_evaluates_without_the_residual()
    {
        var (component, beta, alpha) = Guide();
        Assert.All(component.parameters(), p => Assert.True(p.isfinite().all().item<bool>()));
        Assert.Equal(4, beta.Step);
        Assert.Equal(4, alpha.Step);
        Assert.Equal(8.0 * (1 - Math.Exp(-0.008 * 3)), component.Node.Beta, 12);   // the value at t = 3, the last applied
        Assert.Equal(3.0 / 500, component.Alpha, 12);
        using var u = randn(new long[] { 5, 84 }, generator: new Generator(seed: 2));
        var o = component.Forward(u);
        Assert.Equal(0.0, o.ResidualUsed.abs().sum().item<float>());             // eval: never the residual
        Assert.Equal(new float[] { 1, 1, 1, 1, 1 }, o.Sample.Hard.sum(-1).data<float>().ToArray());
    }

    [Fact]
    public void The_dccg_guide_contains_the_loop_verbatim()
    {
        string dir = AppContext.BaseDirectory;
        while (dir != null && !File.Exists(Path.Combine(dir, "DiscreteGrad.sln"))) dir = Path.GetDirectoryName(dir)!;
        Assert.NotNull(dir);
        string page = File.ReadAllText(Path.Combine(dir!, "docs", "guide", "dccg-schemes.md"));
        string me = File.ReadAllText(Path.Combine(dir!, "tests", "DiscreteGrad.Tests", "Layers", "DccgGuideTests.cs"));
        int a = me.IndexOf("// GUIDE:begin", StringComparison.Ordinal), b = me.IndexOf("// GUIDE:end", StringComparison.Ordinal);
        foreach (var line in me[a..b].Split('\n').Skip(1).Select(l => l.Trim()).Where(l => l.Length > 0))
            Assert.True(page.Contains(line, StringComparison.Ordinal), $"dccg-schemes.md lacks the line: {line}");
    }
}
