using DiscreteGrad.Imle;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.L2x;

/// <summary>What one forward pass of <see cref="L2xModel"/> returns.</summary>
/// <param name="Logits">Selector logits theta [B, L], one per token.</param>
/// <param name="Subset">The k-subset [B*S, L] (row b*S + s), exactly k ones per row.</param>
/// <param name="Prediction">Predicted rating [B*S] in (0, 1).</param>
public sealed record L2xOutput(Tensor Logits, Tensor Subset, Tensor Prediction);

/// <summary>
/// The L2X model of the I-MLE papers' BeerAdvocate experiment (Chen et al. 2018's selector, as in Niepert et al. 2021 and
/// Minervini et al. 2023), in a smaller size:
/// <list type="bullet">
/// <item>embeddings e_t [B, L, E] of the tokens, shared by selector and predictor (fixed random N(0, 1), or trained);</item>
/// <item>selector: a global branch, Conv1d(E, F, 3) + ReLU, max over positions, Linear(F, F); a local branch, Conv1d(E, F, 3)
/// + ReLU, Conv1d(F, F, 3) + ReLU; both concatenated at every position, Conv1d(2F, F, 1) + ReLU, Conv1d(F, 1, 1): one
/// logit theta_t per token (no dropout);</item>
/// <item>the k-subset z = layer(theta) [B*S, L] (the estimator's layer, a submodule, so an adaptive target's state is in the
/// checkpoints);</item>
/// <item>predictor: h = (1/k) sum_t z_t e_t, then Linear(E, H) + ReLU, Linear(H, 1), sigmoid: the rating in (0, 1).</item>
/// </list>
/// </summary>
public sealed class L2xModel : nn.Module
{
    private readonly Embedding embedding;
    private readonly Conv1d global_conv;
    private readonly Linear global_dense;
    private readonly Conv1d local_conv1;
    private readonly Conv1d local_conv2;
    private readonly Conv1d joint_conv;
    private readonly Conv1d logit_conv;
    private readonly Sequential predictor;
    private readonly nn.Module<Tensor, Tensor> estimator;

    /// <summary>Builds the networks (initialised from TorchSharp's default generator) around <paramref name="layer"/>.</summary>
    /// <param name="config">The configuration (validated).</param>
    /// <param name="vocabulary">Vocabulary size.</param>
    /// <param name="layer">The k-subset layer (<see cref="ImleGradients.TopKLayers.Create"/>), with stacked samples.</param>
    /// <param name="samples">Samples S per review that <paramref name="layer"/> returns.</param>
    public L2xModel(L2xConfig config, int vocabulary, nn.Module<Tensor, Tensor> layer, int samples) : base(nameof(L2xModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(layer);
        config.Validate();
        Guard.AtLeast(vocabulary, 1, nameof(vocabulary));
        Guard.AtLeast(samples, 1, nameof(samples));
        K = config.K;
        Samples = samples;
        int e = config.EmbeddingDim, f = config.Filters;
        embedding = nn.Embedding(vocabulary, e);
        if (config.Embeddings == L2xEmbeddings.Fixed) embedding.weight!.requires_grad = false;
        global_conv = nn.Conv1d(e, f, 3, padding: 1);
        global_dense = nn.Linear(f, f);
        local_conv1 = nn.Conv1d(e, f, 3, padding: 1);
        local_conv2 = nn.Conv1d(f, f, 3, padding: 1);
        joint_conv = nn.Conv1d(2 * f, f, 1);
        logit_conv = nn.Conv1d(f, 1, 1);
        predictor = nn.Sequential(("dense1", nn.Linear(e, config.Hidden)), ("relu", nn.ReLU()), ("dense2", nn.Linear(config.Hidden, 1)));
        estimator = layer;
        RegisterComponents();
    }

    /// <summary>Subset size k.</summary>
    public int K { get; }
    /// <summary>Samples S per review.</summary>
    public int Samples { get; }
    /// <summary>The k-subset layer.</summary>
    public nn.Module<Tensor, Tensor> Layer => estimator;

    /// <summary>Embeddings [B, L, E] of tokens [B, L] (int64).</summary>
    public Tensor Embed(Tensor tokens) => embedding.call(tokens);

    /// <summary>Selector logits theta [B, L] of embeddings [B, L, E].</summary>
    public Tensor Select(Tensor embedded)
    {
        ArgumentNullException.ThrowIfNull(embedded);
        using var scope = torch.NewDisposeScope();
        var x = embedded.transpose(1, 2);                                                   // [B, E, L]
        var global = global_dense.call(nn.functional.relu(global_conv.call(x)).amax(new long[] { 2 }));  // [B, F]
        var local = nn.functional.relu(local_conv2.call(nn.functional.relu(local_conv1.call(x))));      // [B, F, L]
        var joint = torch.cat(new[] { local, global.unsqueeze(2).expand(-1, -1, x.shape[2]) }, 1);       // [B, 2F, L]
        var logits = logit_conv.call(nn.functional.relu(joint_conv.call(joint))).squeeze(1);          // [B, L]
        return scope.MoveToOuter(logits);
    }

    /// <summary>Predicted ratings [R] of subsets z [R, L] over embeddings [R, L, E]: sigmoid(MLP((1/k) sum_t z_t e_t)).</summary>
    public Tensor Predict(Tensor subset, Tensor embedded)
    {
        ArgumentNullException.ThrowIfNull(subset);
        ArgumentNullException.ThrowIfNull(embedded);
        using var scope = torch.NewDisposeScope();
        var mean = (subset.unsqueeze(2) * embedded).sum(1) / K;                             // [R, E]
        return scope.MoveToOuter(torch.sigmoid(predictor.call(mean).squeeze(1)));
    }

    /// <summary>
    /// Tokens [B, L] to logits, the subset through the model's layer ([B*S, L], row b*S + s) and the predictions [B*S]
    /// (each sample's subset over its review's embeddings).
    /// </summary>
    public L2xOutput Forward(Tensor tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.dim() != 2) throw new ArgumentException($"tokens must have shape [B, L] (got [{string.Join(", ", tokens.shape)}]).", nameof(tokens));
        using var scope = torch.NewDisposeScope();
        var embedded = Embed(tokens);
        var logits = Select(embedded);
        var z = estimator.call(logits).to(embedded.dtype);
        var repeated = Samples == 1 ? embedded : embedded.repeat_interleave(Samples, 0);
        var prediction = Predict(z, repeated);
        return new L2xOutput(scope.MoveToOuter(logits), scope.MoveToOuter(z), scope.MoveToOuter(prediction));
    }

    /// <summary>The MAP subset topk(theta) [B, L] (no noise: how the papers explain at test time) and its predictions [B].</summary>
    public (Tensor Subset, Tensor Prediction) Explain(Tensor tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        using var scope = torch.NewDisposeScope();
        var embedded = Embed(tokens);
        var logits = Select(embedded);
        var z = TopK(logits, K).to(embedded.dtype);
        return (scope.MoveToOuter(z), scope.MoveToOuter(Predict(z, embedded)));
    }

    /// <summary>The 0/1 indicator [B, L] of the k largest entries of each row of theta [B, L].</summary>
    public static Tensor TopK(Tensor theta, int k)
    {
        ArgumentNullException.ThrowIfNull(theta);
        return new Solvers.TensorTopKSolver(k).Solve(theta.detach());
    }
}
