using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Layers;
using DiscreteGrad.Schedules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Runner;

/// <summary>A small regression through a Gumbel-softmax node with a TempMatch schedule, for runner tests.</summary>
internal sealed class ToyTask : ITrainingTask
{
    private readonly Sequential _model;
    private readonly CategoricalNode _node;
    private readonly TempMatchSchedule _beta = new(tau: 1.0, gamma: 0.05);
    private readonly Generator _data;
    private readonly Generator _noise;
    private readonly long _nanAt;
    private readonly long _poisonAt;

    public ToyTask(ulong seed, long steps, long nanAt = -1, double lr = 1e-2, long poisonAt = -1)
    {
        torch.manual_seed((long)seed);
        _data = new Generator(seed);
        _noise = new Generator(seed + 1);
        _node = new CategoricalNode(EstimatorKind.GumbelSoftmax, new EstimatorOptions(Tau: 1.0, Beta: 0.0), generator: _noise);
        _model = nn.Sequential(("enc", nn.Linear(4, 3)), ("z", _node), ("dec", nn.Linear(3, 1)));
        Optimizer = optim.Adam(_model.parameters(), lr);
        TotalSteps = steps;
        _nanAt = nanAt;
        _poisonAt = poisonAt;
    }

    public string Name => "toy";
    public long TotalSteps { get; }
    public nn.Module Model => _model;
    public OptimizerHelper Optimizer { get; }
    public IReadOnlyList<Schedule> Schedules => new Schedule[] { _beta };
    public IReadOnlyList<Generator> Generators => new[] { _data, _noise };
    public IReadOnlyDictionary<string, string> Configuration => new Dictionary<string, string> { ["estimator"] = "gumbel-softmax" };

    public IReadOnlyDictionary<string, double> TrainStep(long step)
    {
        var x = randn(new long[] { 8, 4 }, generator: _data);
        var y = x.sum(1, keepdim: true);
        Optimizer.zero_grad();
        var loss = (_model.forward(x) - y).pow(2).mean();
        loss.backward();
        Optimizer.step();
        if (step == _poisonAt)
            using (no_grad()) foreach (var p in _model.parameters()) p.fill_(float.NaN);   // a diverged update: finite loss, NaN weights
        if ((step + 1) % 5 == 0) _node.Beta = _beta.Advance();
        double l = step == _nanAt ? double.NaN : loss.item<float>();
        return new Dictionary<string, double> { ["loss"] = l, ["beta"] = _node.Beta };
    }

    public EvaluationCadence Cadence => new(10);

    public IReadOnlyDictionary<string, double> Evaluate(long stepsDone)
    {
        var x = randn(new long[] { 64, 4 }, generator: new Generator(99));
        return new Dictionary<string, double> { ["mse"] = (_model.forward(x) - x.sum(1, keepdim: true)).pow(2).mean().item<float>() };
    }

    public void OnRestored(long stepsDone) => _node.Beta = _beta.Value;

    public double LearningRate => Optimizer.ParamGroups.First().LearningRate;

    public float[] Parameters() => _model.parameters().SelectMany(p => p.detach().data<float>().ToArray()).ToArray();
}
