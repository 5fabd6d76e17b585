using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.ListOps;

/// <summary>Logits of <see cref="GumbelTreeLstmClassifier"/> and the tree pass behind them.</summary>
/// <param name="Logits">Class logits [B, classes].</param>
/// <param name="Tree">The encoder's root and merge choices.</param>
public sealed record GumbelTreeLstmClassifierOutput(Tensor Logits, GumbelTreeLstmOutput Tree);

/// <summary>
/// The ListOps classifier of the ReinMax paper's experiment (Liyuan Liu, Chengyu Dong, Xiaodong Liu, Bin Yu and Jianfeng Gao,
/// "Bridging Discrete and Backpropagation: Straight-Through and Beyond", NeurIPS 2023), i.e. the SSTModel of the ReinMax
/// code (LiyuanLucasLiu/ReinMax, listops/nlp/model.py): word embedding (N(0, 0.01^2), random: the reference's
/// <c>model.word_embedding.from_pretrained(...)</c> returns a new module and leaves the model's embedding as it was, so no
/// pretrained vectors are used), dropout, the <see cref="GumbelTreeLstm"/> encoder, and an MLP over the root: dropout,
/// <see cref="GumbelTreeLstmOptions.ClassifierLayers"/> x (Linear + ReLU, Kaiming-normal weights, zero biases), dropout,
/// Linear to the classes (weights U(-0.002, 0.002), zero bias). Trained with cross-entropy; the reference clips the gradient
/// norm at 5 and uses RAdam with lr 7e-4 (<see cref="DiscreteGrad.Optim.RAdam"/>).
/// </summary>
public sealed class GumbelTreeLstmClassifier : nn.Module<Tensor, Tensor>
{
    private readonly Embedding word_embedding;
    private readonly Dropout dropout;
    private readonly GumbelTreeLstm encoder;
    private readonly Sequential mlp;
    private readonly Linear clf_linear;
    private readonly GumbelTreeLstmOptions _options;

    /// <summary>Builds the model (weights from TorchSharp's global generator, merge draws from <paramref name="generator"/>).</summary>
    public GumbelTreeLstmClassifier(GumbelTreeLstmOptions? options = null, Generator? generator = null) : base(nameof(GumbelTreeLstmClassifier))
    {
        _options = options ?? new GumbelTreeLstmOptions();
        _options.Validate();
        var o = _options;
        word_embedding = nn.Embedding(Math.Max(o.VocabularySize, o.PaddingId + 1), o.WordDim);
        dropout = nn.Dropout(o.Dropout);
        encoder = new GumbelTreeLstm(o.WordDim, o.HiddenDim, o.LeafRnn, o.Estimator, o.EstimatorOptions, generator);
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        for (int i = 0; i < o.ClassifierLayers; i++)
        {
            layers.Add(($"linear{i}", nn.Linear(i == 0 ? o.HiddenDim : o.ClassifierHiddenDim, o.ClassifierHiddenDim)));
            layers.Add(($"relu{i}", nn.ReLU()));
        }
        mlp = nn.Sequential(layers);
        clf_linear = nn.Linear(o.ClassifierLayers == 0 ? o.HiddenDim : o.ClassifierHiddenDim, o.Classes);
        RegisterComponents();
        ResetParameters();
    }

    /// <summary>The configuration.</summary>
    public GumbelTreeLstmOptions Options => _options;

    /// <summary>The Tree-LSTM encoder.</summary>
    public GumbelTreeLstm Encoder => encoder;

    /// <summary>Temperature tau of the merge estimator.</summary>
    public double Tau
    {
        get => encoder.Node.Tau;
        set => encoder.Node.Tau = value;
    }

    /// <summary>Random source of the merge draws in training.</summary>
    public Generator? Generator
    {
        get => encoder.Node.Generator;
        set => encoder.Node.Generator = value;
    }

    /// <summary>The reference's initialisation (see the class summary).</summary>
    public void ResetParameters()
    {
        using var _ = torch.no_grad();
        nn.init.normal_(word_embedding.weight!, 0, 0.01);
        encoder.ResetParameters();
        foreach (var m in mlp.children())
            if (m is Linear lin)
            {
                nn.init.kaiming_normal_(lin.weight!);
                nn.init.constant_(lin.bias!, 0);
            }
        nn.init.uniform_(clf_linear.weight!, -0.002, 0.002);
        nn.init.constant_(clf_linear.bias!, 0);
    }

    /// <summary>Class logits for token ids [B, L] (padding from <see cref="GumbelTreeLstmOptions.PaddingId"/>, trailing).</summary>
    public override Tensor forward(Tensor tokens)
    {
        using var scope = torch.NewDisposeScope();
        return scope.MoveToOuter(Forward(tokens).Logits);
    }

    /// <summary>Class logits and the tree pass for token ids [B, L] (int64) and an optional mask of real tokens (bool, a prefix).</summary>
    public GumbelTreeLstmClassifierOutput Forward(Tensor tokens, Tensor? mask = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.dim() != 2 || tokens.shape[1] < 1 || tokens.dtype != ScalarType.Int64)
            throw new ArgumentException($"tokens must be int64 token ids [B, L] with L >= 1 (got {tokens.dtype} [{string.Join(", ", tokens.shape)}]).", nameof(tokens));
        using var scope = torch.NewDisposeScope();
        var real = mask ?? tokens != _options.PaddingId;
        var x = dropout.call(word_embedding.call(tokens));
        var tree = encoder.Forward(x, real);
        var logits = clf_linear.call(dropout.call(mlp.call(dropout.call(tree.Root))));
        var outTree = new GumbelTreeLstmOutput(scope.MoveToOuter(tree.Root), scope.MoveToOuter(tree.Cell),
            tree.Selections.Select(t => scope.MoveToOuter(t)).ToList());
        return new GumbelTreeLstmClassifierOutput(scope.MoveToOuter(logits), outTree);
    }
}
