namespace DiscreteGrad.Experiments.ListOps;

/// <summary>
/// Token ids of ListOps. Ids 0-13 are the 14-token vocabulary of the DCCG ListOps files (Friede and Niepert,
/// "Efficient Learning of Discrete-Continuous Computation Graphs", NeurIPS 2021): <c>]</c> = 0, <c>[MIN</c> = 1,
/// <c>[MAX</c> = 2, <c>[MED</c> = 3 and the digits 0-9 = 4-13 (digit d has id d + 4). Nangia and Bowman's fourth
/// operator <c>[SM</c> (sum mod 10) is 14, and 15 is a padding id that no expression contains. A model for the DCCG
/// recipe therefore needs <see cref="DccgSize"/> embeddings (plus one if it embeds padding), one for the Nangia and
/// Bowman recipe <see cref="Size"/>.
/// </summary>
public static class ListOpsVocabulary
{
    /// <summary>Id of <c>]</c>, which closes the innermost open operator.</summary>
    public const int Close = 0;
    /// <summary>Id of <c>[MIN</c>.</summary>
    public const int Min = 1;
    /// <summary>Id of <c>[MAX</c>.</summary>
    public const int Max = 2;
    /// <summary>Id of <c>[MED</c>.</summary>
    public const int Med = 3;
    /// <summary>Id of the digit 0; digit d has id <see cref="Digit0"/> + d.</summary>
    public const int Digit0 = 4;
    /// <summary>Id of <c>[SM</c> (not in the DCCG vocabulary).</summary>
    public const int SumMod = 14;
    /// <summary>Padding id used by <see cref="ListOpsBatch"/> unless told otherwise; never part of an expression.</summary>
    public const int Pad = 15;
    /// <summary>Number of ids of the DCCG vocabulary (<c>]</c>, three operators, ten digits).</summary>
    public const int DccgSize = 14;
    /// <summary>Number of ids including <c>[SM</c> and <see cref="Pad"/>.</summary>
    public const int Size = 16;

    private static readonly string[] Texts =
        { "]", "[MIN", "[MAX", "[MED", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "[SM", "<pad>" };

    /// <summary>The text of token <paramref name="id"/> (<c>&lt;pad&gt;</c> for <see cref="Pad"/>).</summary>
    public static string Text(int id) =>
        (uint)id < (uint)Texts.Length ? Texts[id] : throw new ArgumentOutOfRangeException(nameof(id), id, $"token ids are 0-{Size - 1}.");

    /// <summary>Id of the token <paramref name="text"/> (ordinal comparison), or false when it is not a ListOps token.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out int id)
    {
        id = -1;
        if (text.Length == 1)
        {
            char c = text[0];
            if (c >= '0' && c <= '9') id = Digit0 + (c - '0');
            else if (c == ']') id = Close;
        }
        else if (text.SequenceEqual("[MIN")) id = Min;
        else if (text.SequenceEqual("[MAX")) id = Max;
        else if (text.SequenceEqual("[MED")) id = Med;
        else if (text.SequenceEqual("[SM")) id = SumMod;
        return id >= 0;
    }

    /// <summary>Id of digit <paramref name="digit"/> (0-9).</summary>
    public static int DigitId(int digit) =>
        (uint)digit <= 9 ? Digit0 + digit : throw new ArgumentOutOfRangeException(nameof(digit), digit, "digits are 0-9.");

    /// <summary>True for the ids of the digits 0-9.</summary>
    public static bool IsDigit(int id) => id >= Digit0 && id < Digit0 + 10;

    /// <summary>True for the ids of <c>[MIN</c>, <c>[MAX</c>, <c>[MED</c> and <c>[SM</c>.</summary>
    public static bool IsOperator(int id) => id is Min or Max or Med or SumMod;

    /// <summary>Id of the token that opens <paramref name="op"/>.</summary>
    public static int OperatorId(ListOpsOperator op) => op switch
    {
        ListOpsOperator.Min => Min,
        ListOpsOperator.Max => Max,
        ListOpsOperator.Med => Med,
        ListOpsOperator.SumMod => SumMod,
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown ListOps operator."),
    };

    /// <summary>The operator opened by token <paramref name="id"/>.</summary>
    public static ListOpsOperator OperatorOf(int id) => id switch
    {
        Min => ListOpsOperator.Min,
        Max => ListOpsOperator.Max,
        Med => ListOpsOperator.Med,
        SumMod => ListOpsOperator.SumMod,
        _ => throw new ArgumentOutOfRangeException(nameof(id), id, "not the id of an operator token."),
    };
}
