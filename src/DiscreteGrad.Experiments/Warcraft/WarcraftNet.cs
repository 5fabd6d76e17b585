using DiscreteGrad.Imle;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.Warcraft;

/// <summary>
/// The small CNN shared by every method: image [B, 3, N P, N P] -&gt; one number per cell [B, N, N].
/// conv 4x4 stride 4 (3 -&gt; C/2) + ReLU, conv 3x3 (C/2 -&gt; C) + ReLU, max-pool P/4 (to N x N), <see cref="WarcraftConfig.Depth"/>
/// x (conv 3x3 C -&gt; C + ReLU) at cell resolution, conv 1x1 (C -&gt; 1). The caller turns the output into costs
/// (softplus) or path logits. For I-MLE and AIMLE the network also holds the perturb-and-MAP layer (the submodule
/// <c>imle</c>, not used by <see cref="forward"/>), so that an adaptive target's state is in its checkpoints.
/// </summary>
public sealed class WarcraftNet : nn.Module<Tensor, Tensor>
{
    private readonly Sequential _body;
    private readonly ImleLayer? imle;

    /// <summary>Builds the network for <paramref name="config"/> (initialised from TorchSharp's global generator).</summary>
    /// <param name="config">The configuration.</param>
    /// <param name="layer">The I-MLE / AIMLE layer to hold (null for the direct method).</param>
    public WarcraftNet(WarcraftConfig config, ImleLayer? layer = null) : base("WarcraftNet")
    {
        int c = config.Channels, half = Math.Max(1, c / 2);
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>
        {
            ("stem", nn.Conv2d(3, half, 4, stride: 4)),
            ("stem_relu", nn.ReLU()),
            ("conv", nn.Conv2d(half, c, 3, padding: 1)),
            ("conv_relu", nn.ReLU()),
            ("pool", nn.MaxPool2d(config.PatchSize / 4)),
        };
        for (int i = 0; i < config.Depth; i++)
        {
            layers.Add(($"cell{i}", nn.Conv2d(c, c, 3, padding: 1)));
            layers.Add(($"cell{i}_relu", nn.ReLU()));
        }
        layers.Add(("head", nn.Conv2d(c, 1, 1)));
        _body = nn.Sequential(layers);
        imle = layer;
        RegisterComponents();
    }

    /// <summary>The perturb-and-MAP layer the network holds (null for the direct method).</summary>
    public ImleLayer? Layer => imle;

    /// <inheritdoc />
    public override Tensor forward(Tensor images) => _body.forward(images).squeeze(1);
}
